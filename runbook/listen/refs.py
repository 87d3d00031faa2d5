"""Post references and links: a playbook gives the offending post as a URL, channels speak refs."""

from __future__ import annotations

from urllib.parse import urlparse

__all__ = ["post_ref", "post_url"]

SANDBOX_BASE = "https://social.example"


def post_ref(value: str | None) -> str | None:
    """`s12` stays `s12`; `https://social.example/brand/status/s12` gives `s12` (the last path segment);
    `https://bsky.app/profile/did:plc:x/post/3k2` gives `at://did:plc:x/app.bsky.feed.post/3k2`."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.startswith(("http://", "https://")):
        parsed = urlparse(value)
        path = parsed.path.rstrip("/")
        parts = path.split("/")
        # A Bluesky post link names its author by DID: the channel's ref is the record's at:// URI.
        if (
            parsed.netloc == "bsky.app"
            and len(parts) == 5
            and parts[1] == "profile"
            and parts[3] == "post"
            and parts[2].startswith("did:")
        ):
            return f"at://{parts[2]}/app.bsky.feed.post/{parts[4]}"
        return path.rsplit("/", 1)[-1] or None
    return value


def post_url(account: str, ref: str, *, base: str = SANDBOX_BASE) -> str:
    return f"{base}/{account}/status/{ref}"
