"""X (API v2 over httpx) behind the Channel port: posts (reply settings, reply-to, uploaded media
ids), deletes, the mentions timeline since a cursor (every page, oldest first), replies, post
lookup and the account's own recent posts; X's weighted 280-character limit checked before sending.

X has no idempotency keys. A write's key is claimed in the write ledger before the call; a retry
(after a timeout or 5xx whose fate is unknown) first looks for the post among the account's own
recent posts, so a post is never written twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from runbook.channels.base import AccountCheck, TokenAdapter
from runbook.channels.config import AccountConfig, ChannelConfig
from runbook.channels.resilience import Failure, http_failure
from runbook.channels.writes import LedgeredWrites
from runbook.ports.channel import (  # the one port every adapter implements: these imports repeat
    AccountInfo,
    ChannelError,
    Limits,
    Mention,
    MentionPage,
    Post,
    Receipt,
    RejectedByLimits,
)

__all__ = ["XChannel", "XError", "weighted_length"]

API = "https://api.x.com"
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics"
MAX_CHARS, MAX_MEDIA, URL_LENGTH = 280, 4, 23
MENTION_PAGES = 8  # X serves at most the 800 most recent mentions: 8 pages of 100
REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
_URL = re.compile(r"https?://\S+")
# twitter-text v3: code points in these ranges weigh 1, every other weighs 2.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def weighted_length(text: str) -> int:
    """The length X counts: links as 23, CJK and emoji as 2 each."""
    text = _URL.sub("x" * URL_LENGTH, text)
    return sum(1 if any(a <= ord(c) <= b for a, b in _LIGHT) else 2 for c in text)


class XError(ChannelError):
    """A non-2xx answer from X (its problem JSON's title and detail, never the token)."""

    def __init__(self, status: int | None, headers: dict[str, str], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


class XChannel(LedgeredWrites, TokenAdapter):
    platform = "x"

    def __init__(
        self,
        account_id: str,
        account: AccountConfig,
        channel: ChannelConfig,
        *,
        base_url: str | None = None,
        http: httpx.Client | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(account_id, account, channel, **kwargs)
        self.base_url = base_url or channel.service or API
        self.http = http or httpx.Client(base_url=self.base_url, timeout=self.policy.timeout)
        self._user_id: str | None = str(account.options["user_id"]) if "user_id" in account.options else None

    def __repr__(self) -> str:  # never the token
        return f"XChannel({self.account_id!r}, @{self.handle})"

    # -- HTTP -------------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, XError):
            return http_failure(exc.status, exc.headers, str(exc))
        if isinstance(exc, httpx.TransportError):  # timeouts, resets, refused connections
            return http_failure(None, None, f"{type(exc).__name__}")
        return None

    def _send(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self.http.request(
            method, path, json=json, params=params, headers={"Authorization": f"Bearer {self._token}"}
        )
        if not (response.status_code == 429 and "retry-after" in response.headers):
            # Retry-After, when X sends it on a 429, is the more precise word for this call.
            self.guard.limiter.observe(response.headers)
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = f"{body.get('title', '')}: {body.get('detail', '')}".strip(": ")
            except ValueError:
                detail = response.text[:200]
            raise XError(
                response.status_code, dict(response.headers), f"X {method} {path}: HTTP {response.status_code} {detail}"
            )
        return response.json()

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.guard.call(what, lambda: self._send(method, path, **kwargs))

    def user_id(self) -> str:
        if self._user_id is None:
            self._user_id = self._call("users/me", "GET", "/2/users/me")["data"]["id"]
        return self._user_id

    # -- limits -----------------------------------------------------------------------------------
    def limits(self, account: str | None = None, *, platform: str | None = None) -> Limits:
        return Limits(
            platform="x",
            max_chars=MAX_CHARS,
            max_media=MAX_MEDIA,
            count="weighted",
            url_length=URL_LENGTH,
            threads=False,
            source="documented",
        )

    def problems(
        self, text: str, media: list[dict[str, Any]] | None = None, reply_settings: str | None = None
    ) -> list[str]:
        """Everything X would refuse about this write, found before sending it."""
        out = []
        size = weighted_length(text)
        if not text.strip() and not media:
            out.append("x: the post is empty")
        if size > MAX_CHARS:
            out.append(f"x: {size} weighted characters over the limit of {MAX_CHARS}")
        if len(media or []) > MAX_MEDIA:
            out.append(f"x: {len(media or [])} media over the limit of {MAX_MEDIA}")
        for n, item in enumerate(media or []):
            if not str(item.get("media_id") or "").isdigit():
                out.append(f"x: media[{n}] has no media_id (upload it first; X takes uploaded media ids)")
        if reply_settings is not None and reply_settings not in REPLY_SETTINGS:
            out.append(f"x: reply_settings {reply_settings!r} is not one of {', '.join(REPLY_SETTINGS)}")
        return out

    # -- writes -----------------------------------------------------------------------------------
    def publish(
        self,
        *,
        account: str | None = None,
        platform: str = "x",
        text: str,
        media: list[dict[str, Any]] | None = None,
        key: str,
        reply_to: str | None = None,
        reply_settings: str | None = None,
    ) -> Receipt:
        problems = self.problems(text, media, reply_settings)
        if problems:
            raise RejectedByLimits(problems)
        body: dict[str, Any] = {"text": text}
        if media:
            body["media"] = {"media_ids": [str(m["media_id"]) for m in media]}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        if reply_settings:
            body["reply_settings"] = reply_settings
        return self._write(key, "reply" if reply_to else "publish", body)

    def reply(self, *, account: str | None = None, platform: str = "x", to_ref: str, text: str, key: str) -> Receipt:
        return self.publish(account=account, text=text, key=key, reply_to=to_ref)

    def _write(self, key: str, action: str, body: dict[str, Any]) -> Receipt:
        def write() -> str:
            try:
                return self._send("POST", "/2/tweets", json=body)["data"]["id"]
            except XError as exc:
                # X refuses a duplicate of a live post with 403: after a lost answer that is our own post.
                if exc.status == 403 and "duplicate" in str(exc) and (found := self._already_posted(body)):
                    return found
                raise

        return self.write_once(key, action, write, lambda: self._already_posted(body))

    def _already_posted(self, body: dict[str, Any], since: datetime | None = None) -> str | None:
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        for post in self._timeline(limit=100):
            if post.text != body["text"] or (reply_to and post.in_reply_to != reply_to):
                continue
            if since is None or post.created_at is None or post.created_at >= since.replace(microsecond=0):
                return post.ref
        return None

    def delete(self, ref: str, *, key: str) -> bool:
        try:
            body = self._call(f"delete {ref}", "DELETE", f"/2/tweets/{ref}")
        except XError as exc:
            if exc.status == 404:
                return False
            raise
        if body.get("errors") and not body.get("data"):
            return False
        return bool(body.get("data", {}).get("deleted"))

    def owns(self, ref: str) -> bool:
        ledger = self._ledger()
        if ledger is None or not ref.isdigit():
            return False
        import sqlalchemy as sa

        from runbook.channels.tables import writes

        with ledger.engine.connect() as connection:
            return (
                connection.execute(
                    sa.select(writes.c.key).where(writes.c.ref == ref, writes.c.account == self.account_id)
                ).first()
                is not None
            )

    # -- reads ------------------------------------------------------------------------------------
    def get_post(self, ref: str) -> dict[str, Any] | None:
        body = self._call(f"get {ref}", "GET", f"/2/tweets/{ref}", params={"tweet.fields": TWEET_FIELDS})
        if body.get("data"):
            return self._post(body["data"]).to_dict()
        if self.owns(ref):  # ours, and X no longer has it: deleted
            return Post(ref=ref, account=self.handle, platform="x", text="", created_at=None, live=False).to_dict()
        return None

    def recent_posts(self, account: str | None = None, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        return self._timeline(limit=limit)

    def _timeline(self, *, limit: int) -> list[Post]:
        body = self._call(
            "own posts",
            "GET",
            f"/2/users/{self.user_id()}/tweets",
            params={"max_results": max(5, min(100, limit)), "tweet.fields": TWEET_FIELDS},
        )
        return [self._post(d) for d in body.get("data") or []][:limit]

    def _post(self, data: dict[str, Any], authors: dict[str, dict[str, Any]] | None = None) -> Post:
        refs = data.get("referenced_tweets") or data.get("referenced_posts") or []
        parent = next((r["id"] for r in refs if r.get("type") == "replied_to"), None)
        author = (authors or {}).get(data.get("author_id", ""), {})
        created = data.get("created_at")
        return Post(
            ref=data["id"],
            account=author.get("username", self.handle),
            platform="x",
            text=data.get("text", ""),
            created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
            live=True,
            url=f"https://x.com/{author.get('username', self.handle)}/status/{data['id']}",
            in_reply_to=parent,
            meta={"metrics": data.get("public_metrics", {}), "conversation": data.get("conversation_id")},
        )

    def mentions(
        self, account: str | None = None, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        """Mentions after `since` (a post id), oldest first. X serves them newest first in pages, so
        every page back to the cursor is read before the oldest `limit` are returned; the cursor
        is the newest id returned, so nothing between two calls is skipped."""
        params: dict[str, Any] = {
            "max_results": 100,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "public_metrics",
        }
        if since:
            if not since.isdigit():
                raise ChannelError(f"x: cursor {since!r} is not a post id")
            params["since_id"] = since
        found: dict[str, Mention] = {}
        token = None
        for _ in range(MENTION_PAGES):
            page_params = dict(params, **({"pagination_token": token} if token else {}))
            body = self._call("mentions", "GET", f"/2/users/{self.user_id()}/mentions", params=page_params)
            authors = {u["id"]: u for u in (body.get("includes") or {}).get("users", [])}
            for data in body.get("data") or []:
                post = self._post(data, authors)
                user = authors.get(data.get("author_id", ""), {})
                found[post.ref] = Mention(
                    ref=post.ref,
                    account=self.handle,
                    platform="x",
                    author=user.get("username", data.get("author_id", "?")),
                    author_followers=int((user.get("public_metrics") or {}).get("followers_count", 0)),
                    text=post.text,
                    created_at=post.created_at or datetime.now(UTC),
                    in_reply_to=post.in_reply_to,
                    meta={"conversation": data.get("conversation_id")},
                )
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        items = sorted(found.values(), key=lambda m: int(m.ref))[:limit]
        return MentionPage(items=items, cursor=items[-1].ref if items else since)

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        name = handle.lstrip("@")
        body = self._call(
            f"user {name}", "GET", f"/2/users/by/username/{name}", params={"user.fields": "public_metrics"}
        )
        data = body.get("data")
        if not data:
            return None
        kind = "brand" if name.lower() == self.handle.lstrip("@").lower() else "personal"
        return AccountInfo(
            handle=data["username"],
            platform="x",
            kind=kind,
            display_name=data.get("name", ""),
            followers=int((data.get("public_metrics") or {}).get("followers_count", 0)),
        )

    def check(self) -> AccountCheck:
        result = AccountCheck(self.account_id, "x", self.handle)
        try:
            me = self._call("users/me", "GET", "/2/users/me")["data"]
        except ChannelError as exc:
            result.problem(str(exc).splitlines()[0])
            return result
        result.identity = f"@{me['username']} ({me['id']})"
        if me["username"].lower() != self.handle.lstrip("@").lower():
            result.problem(f"the token logs in as @{me['username']}, not @{self.handle.lstrip('@')}")
        # X reports no scopes on API calls; these are what the adapter needs on the user token.
        result.scopes = ["tweet.read", "tweet.write", "users.read", "offline.access (needed, not verifiable)"]
        headroom = self.guard.limiter.headroom
        result.headroom = headroom.to_dict() if headroom else None
        result.limits = {"max_chars": MAX_CHARS, "count": "weighted", "max_media": MAX_MEDIA}
        return result
