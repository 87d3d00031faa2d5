"""Post references and links: a playbook gives the offending post as a URL, channels speak refs."""

from __future__ import annotations

from urllib.parse import urlparse

__all__ = ["post_ref", "post_url"]

SANDBOX_BASE = "https://social.example"


def post_ref(value: str | None) -> str | None:
    """`s12` stays `s12`; `https://social.example/brand/status/s12` gives `s12` (the last path segment)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.startswith(("http://", "https://")):
        path = urlparse(value).path.rstrip("/")
        return path.rsplit("/", 1)[-1] or None
    return value


def post_url(account: str, ref: str, *, base: str = SANDBOX_BASE) -> str:
    return f"{base}/{account}/status/{ref}"
