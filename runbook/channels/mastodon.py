"""The Mastodon adapter (Mastodon.py): publish and reply with visibility and content warnings,
delete, live state, own recent statuses, mentions since a cursor (notifications), and the length
and media limits read from the instance itself (instance v2 configuration).

Idempotency: Mastodon honours an Idempotency-Key header for an hour; the write ledger keeps the
key -> status id for ever, so a retry a day later still resolves to the first status.
Refs are `mastodon:<instance host>:<status id>` (status ids are only unique per instance).
"""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from runbook.channels.base import AccountCheck, Adapter
from runbook.channels.config import AccountConfig, ChannelConfig, ConfigError
from runbook.channels.limits import check_limits
from runbook.channels.resilience import Failure, http_failure
from runbook.ports.channel import (  # the one port every adapter implements: these imports repeat
    AccountInfo,
    ChannelError,
    ChannelUnavailable,
    Limits,
    Mention,
    MentionPage,
    Post,
    Receipt,
    RejectedByLimits,
)

if TYPE_CHECKING:
    from runbook.channels.ledger import Ledger

__all__ = ["MastodonChannel", "html_to_text"]

VISIBILITIES = ("public", "unlisted", "private", "direct")
MENTION_TYPES = ["mention"]
DOCUMENTED = {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}
_TAG = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    """A status's HTML content as the plain text a person wrote (paragraphs and breaks kept)."""
    text = re.sub(r"<br\s*/?>", "\n", content or "")
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(_TAG.sub("", text)).strip()


class MastodonChannel(Adapter):
    platform = "mastodon"
    name = "mastodon"

    def __init__(self, account_id: str, account: AccountConfig, channel: ChannelConfig, **kwargs: Any) -> None:
        super().__init__(account_id, account, channel, **kwargs)
        self.service = self._service_url("the instance URL")
        self.host = urlparse(self.service).netloc or self.service
        options = {**channel.options, **account.options}
        self.visibility = str(options.get("visibility", "public"))
        self.reply_visibility = str(options.get("reply_visibility", self.visibility))
        self.content_warning = str(options.get("content_warning", "")) or None
        for name, value in (("visibility", self.visibility), ("reply_visibility", self.reply_visibility)):
            if value not in VISIBILITIES:
                raise ConfigError(f"account '{account_id}': {name} must be one of {', '.join(VISIBILITIES)}")
        self._api: Any = None
        self._me: Any = None
        self._limits: Limits | None = None
        self._lock = threading.Lock()

    # -- client -----------------------------------------------------------------------------------
    @property
    def api(self) -> Any:
        with self._lock:
            if self._api is None:
                from mastodon import Mastodon

                token = self.config.secret("token", self.environ).get_secret_value()
                # ratelimit_method="throw": our Guard waits (shared limiter, budget), not the SDK.
                self._api = Mastodon(
                    access_token=token,
                    api_base_url=self.service,
                    request_timeout=self.policy.timeout,
                    ratelimit_method="throw",
                    version_check_mode="none",
                )
            return self._api

    def _call(self, what: str, fn: Any, *, retry: bool = True) -> Any:
        from mastodon import errors as e

        try:
            return self.guard.call(what, fn, retry=retry)
        except e.MastodonNotFoundError:
            raise
        except e.MastodonAPIError as exc:  # a refusal (422, 403, 401): one clear line, the server's reason
            status, reason = (exc.args[1], exc.args[3]) if len(exc.args) > 3 else ("?", str(exc))
            if status == 401:
                raise ChannelError(f"mastodon: token refused by {self.host} (HTTP 401: {reason})") from None
            raise ChannelError(f"mastodon: {what} refused by {self.host}: HTTP {status} {reason}") from None
        finally:
            self._observe()

    def _observe(self) -> None:
        api = self._api
        if api is None or getattr(api, "ratelimit_limit", None) is None:
            return
        headers = {"x-ratelimit-limit": str(api.ratelimit_limit), "x-ratelimit-remaining": str(api.ratelimit_remaining)}
        if api.ratelimit_reset:
            headers["x-ratelimit-reset"] = str(int(api.ratelimit_reset))
        self.guard.limiter.observe(headers)

    def classify(self, exc: BaseException) -> Failure | None:
        from mastodon import errors as e

        if isinstance(exc, e.MastodonRatelimitError):
            reset = getattr(self._api, "ratelimit_reset", None)
            return Failure(True, 429, max(0.0, reset - time.time()) if reset else None, "HTTP 429 rate limited")
        if isinstance(exc, e.MastodonNetworkError):  # transport errors and read timeouts
            return http_failure(None, None, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, e.MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            return http_failure(status, {}, f"HTTP {status}") if status else None
        return None

    @property
    def me(self) -> Any:
        if self._me is None:
            self._me = self._call("verifyCredentials", lambda: self.api.account_verify_credentials())
        return self._me

    def _ledger(self) -> Ledger:
        ledger = super()._ledger()
        if ledger is None:
            raise ConfigError("the mastodon adapter needs the database for its write ledger")
        return ledger

    # -- refs -------------------------------------------------------------------------------------
    def _ref(self, status_id: Any) -> str:
        return f"mastodon:{self.host}:{status_id}"

    def _id(self, ref: str) -> str:
        prefix = f"mastodon:{self.host}:"
        if not ref.startswith(prefix):
            raise ChannelError(f"mastodon: {ref!r} is not a status of {self.host} (mastodon:{self.host}:<id>)")
        return ref[len(prefix) :]

    def owns(self, ref: str) -> bool:
        if not ref.startswith(f"mastodon:{self.host}:"):
            return False
        found = self._status(ref)
        return found is None or str(found["account"]["id"]) == str(self.me["id"])

    def url_for(self, *, ref: str, platform: str | None = None, account: str | None = None) -> str:
        return f"{self.service}/@{self.me['acct']}/{self._id(ref)}"

    # -- limits -----------------------------------------------------------------------------------
    def limits(self, account: str | None = None, *, platform: str | None = None) -> Limits:
        """The instance's own limits (instances raise the 500-character default); the documented
        defaults when the instance does not say."""
        if self._limits is None:
            values, types, source = dict(DOCUMENTED), (), "documented"
            try:
                instance = self._call("instance", lambda: self.api.instance_v2())
                config = instance.get("configuration") or {}
                statuses, media = config.get("statuses") or {}, config.get("media_attachments") or {}
                for name in DOCUMENTED:
                    if statuses.get(name):
                        values[name] = int(statuses[name])
                types = tuple(media.get("supported_mime_types") or ())
                source = "instance"
            except ChannelError:
                pass
            self._limits = Limits(
                platform=self.platform,
                max_chars=values["max_characters"],
                max_media=values["max_media_attachments"],
                url_length=values["characters_reserved_per_url"],
                media_types=types,
                source=source,
            )
        return self._limits

    # -- reads --------------------------------------------------------------------------------------
    def _status(self, ref: str) -> Any | None:
        from mastodon import errors as e

        status_id = self._id(ref)
        try:
            return self._call("status", lambda: self.api.status(status_id))
        except e.MastodonNotFoundError:
            return None

    def _post(self, status: Any, *, live: bool = True) -> Post:
        reply = status.get("in_reply_to_id")
        return Post(
            ref=self._ref(status["id"]),
            account=status["account"]["acct"],
            platform=self.platform,
            text=html_to_text(status.get("content", "")),
            created_at=status.get("created_at"),
            live=live,
            url=status.get("url"),
            in_reply_to=self._ref(reply) if reply else None,
            meta={
                "visibility": status.get("visibility"),
                "content_warning": status.get("spoiler_text") or "",
                "likes": status.get("favourites_count", 0),
                "reposts": status.get("reblogs_count", 0),
                "replies": status.get("replies_count", 0),
                "uri": status.get("uri"),
            },
        )

    def get_post(self, ref: str) -> dict[str, Any] | None:
        try:
            self._id(ref)
        except ChannelError:
            return None
        status = self._status(ref)
        if status is None:  # deleted, or never visible to us
            return Post(ref=ref, account="", platform=self.platform, text="", created_at=None, live=False).to_dict()
        return self._post(status).to_dict()

    def recent_posts(self, account: str | None = None, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        out: list[Post] = []
        max_id = None
        while len(out) < limit:
            page = self._call(
                "accountStatuses",
                lambda m=max_id: self.api.account_statuses(self.me["id"], limit=min(40, limit - len(out)), max_id=m),
            )
            if not page:
                break
            out.extend(self._post(s) for s in page)
            max_id = page[-1]["id"]
        return out[:limit]

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        if handle in (self.account_id, self.handle):
            found = self.me
        else:
            try:
                found = self._call("lookup", lambda: self.api.account_lookup(handle.lstrip("@")))
            except Exception:  # noqa: BLE001 - unknown account: None, as the port says
                return None
        if not found:
            return None
        return AccountInfo(
            handle=found["acct"],
            platform=self.platform,
            kind="brand" if str(found["id"]) == str(self.me["id"]) else "personal",
            display_name=found.get("display_name") or found["acct"],
            followers=int(found.get("followers_count") or 0),
        )

    def mentions(
        self, account: str | None = None, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        """Mention notifications after the cursor (a notification id), oldest first: `min_id` pages
        forward from the cursor, so the first call reads from the beginning."""
        page = self._call(
            "notifications",
            lambda: self.api.notifications(types=MENTION_TYPES, min_id=since or "0", limit=min(limit, 80)),
        )
        items = sorted((n for n in page if n.get("status")), key=lambda n: int(n["id"]))
        mentions = [self._mention(n) for n in items]
        cursor = str(items[-1]["id"]) if items else since
        return MentionPage(items=mentions, cursor=cursor)

    def _mention(self, notification: Any) -> Mention:
        status = notification["status"]
        author = status["account"]
        reply = status.get("in_reply_to_id")
        return Mention(
            ref=self._ref(status["id"]),
            account=self.handle,
            platform=self.platform,
            author=author["acct"],
            author_followers=int(author.get("followers_count") or 0),
            text=html_to_text(status.get("content", "")),
            created_at=status.get("created_at") or datetime.now(UTC),
            in_reply_to=self._ref(reply) if reply else None,
            meta={
                "kind": "reply" if reply else "mention",
                "url": status.get("url"),
                "visibility": status.get("visibility"),
                "notification": str(notification["id"]),
                "likes": status.get("favourites_count", 0),
                "reposts": status.get("reblogs_count", 0),
            },
        )

    # -- writes -------------------------------------------------------------------------------------
    def find(self, key: str) -> Receipt | None:
        entry = self._ledger().get(key)
        if entry is None or entry.action == "delete":
            return None
        return entry.receipt()  # None when not confirmed: publishing again under the key lets Mastodon dedupe (1 h)

    # The Channel port's publish() keywords, alike in every adapter; the network's own options follow.
    def publish(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        text: str,
        media: list[dict[str, Any]] | None = None,
        key: str,
        visibility: str | None = None,
        content_warning: str | None = None,
        reply_to: str | None = None,
    ) -> Receipt:
        return self._write(
            key=key,
            text=text,
            media=media or [],
            reply_to=self._id(reply_to) if reply_to else None,
            action="reply" if reply_to else "publish",
            visibility=visibility or self.visibility,
            content_warning=content_warning,
        )

    # The port's reply beside its publish: the same Mastodon extras (visibility, content warning).
    def reply(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        to_ref: str,
        text: str,
        key: str,
        visibility: str | None = None,
        content_warning: str | None = None,
    ) -> Receipt:
        return self._write(
            key=key,
            text=text,
            media=[],
            reply_to=self._id(to_ref),
            action="reply",
            visibility=visibility or self.reply_visibility,
            content_warning=content_warning,
        )

    def _write(
        self,
        *,
        key: str,
        text: str,
        media: list[dict[str, Any]],
        reply_to: str | None,
        action: str,
        visibility: str,
        content_warning: str | None,
    ) -> Receipt:
        if not key:
            raise ValueError("an idempotency key is required")
        if visibility not in VISIBILITIES:
            raise ChannelError(f"mastodon: visibility must be one of {', '.join(VISIBILITIES)}")
        problems = check_limits(self.limits(), text=text, media=media)
        if problems:
            raise RejectedByLimits(problems)
        found = self.find(key)
        if found is not None:
            return found
        ledger = self._ledger()
        ledger.claim(key, account=self.account_id, platform=self.platform, action=action, native=key[:300])
        media_ids = [self._upload(n, item) for n, item in enumerate(media)]
        warning = content_warning if content_warning is not None else self.content_warning
        status = self._call(
            "statusPost",
            lambda: self.api.status_post(
                text,
                in_reply_to_id=reply_to,
                media_ids=media_ids or None,
                visibility=visibility,
                spoiler_text=warning or None,
                sensitive=bool(warning),
                idempotency_key=key,
            ),
        )
        ref = self._ref(status["id"])
        ledger.confirm(key, ref, [ref])
        return Receipt(ref=ref, key=key, created=True, at=status.get("created_at"))

    def _upload(self, n: int, item: dict[str, Any]) -> Any:
        if item.get("id"):
            return item["id"]
        path = item.get("path")
        if not path:
            raise ChannelError(f"mastodon: media[{n}] needs path or id")
        data = Path(str(path)).read_bytes()
        kind = item.get("type") or item.get("mime")
        return self._call(
            "mediaPost", lambda: self.api.media_post(data, mime_type=kind, description=item.get("alt") or None)
        )["id"]

    # delete() and the check hooks below fill in Adapter's templates (delete_once, check): alike in shape
    # in each adapter, each in its network's calls and words.
    def delete(self, ref: str, *, key: str) -> bool:
        from mastodon import errors as e

        status_id = self._id(ref)

        def delete_status(status: Any) -> bool:
            if str(status["account"]["id"]) != str(self.me["id"]):
                raise ChannelError(
                    f"mastodon: {ref} is not a status of @{self.me['acct']}; only our own can be deleted"
                )
            try:
                self._call("statusDelete", lambda: self.api.status_delete(status_id))
            except e.MastodonNotFoundError:
                return False  # deleted between our look and our delete: by someone else
            return True

        return self.delete_once(key, ref, lambda: self._status(ref), delete_status)

    # -- channels check -------------------------------------------------------------------------------
    def login(self) -> Any:
        return self.me

    def login_problem(self, exc: Exception) -> str | None:
        if isinstance(exc, ChannelUnavailable):
            return f"cannot reach {self.service}: {exc}"
        if isinstance(exc, ChannelError):  # a refusal: a revoked token, a suspended account
            return str(exc).removeprefix("mastodon: ")
        return None

    def check_login(self, me: Any, result: AccountCheck) -> None:
        result.identity = f"@{me['acct']}@{self.host}"
        if me["acct"].casefold() != self.handle.lstrip("@").split("@")[0].casefold():
            result.problem(f"the token belongs to @{me['acct']}, not {self.handle}")
        try:
            app = self._call("verifyApp", lambda: self.api.app_verify_credentials())
            result.scopes = list(app.get("scopes") or [])
        except Exception:  # noqa: BLE001 - older servers: scopes unknown, said so
            result.scopes = []
        if result.scopes and not ({"write", "write:statuses"} & set(result.scopes)):
            result.problem("the token cannot post: it needs the write:statuses scope")
        if result.scopes and not ({"read", "read:notifications"} & set(result.scopes)):
            result.problem("the token cannot read mentions: it needs the read:notifications scope")
        result.limits = self.limits().__dict__
        result.rate_headroom(self.guard.limiter.headroom)
