"""Meta's Graph API over httpx: a Facebook Page and an Instagram professional account behind the
Channel port (posts, comments as mentions, replies to comments, delete, fetch), and the Page's
scheduled posts as a RemoteQueue (`published=false` + `scheduled_publish_time`, listed from
`/{page-id}/scheduled_posts`, taken off by delete after the freeze stored them, put back by
creating them again).

Graph answers throttling with HTTP 400 and an error code (4 app, 17 user, 32 Page, 613 per
hour, 80001 Pages use case): the code decides, not the status. The Graph API has no idempotency
keys: writes go through the write ledger and a retry looks for the post before writing again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from runbook.channels.base import AccountCheck, TokenAdapter
from runbook.channels.config import AccountConfig, ChannelConfig
from runbook.channels.limits import check_limits
from runbook.channels.resilience import Failure, Guard, Headroom, Policy, http_failure, limiter_for
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
from runbook.ports.remote_queue import HoldOutcome, RemotePost, RemoteQueueError

__all__ = ["GraphClient", "GraphError", "MetaChannel", "MetaScheduledQueue"]

API = "https://graph.facebook.com"
VERSION = "v25.0"
THROTTLED = {4, 17, 32, 613, 80001}  # Graph's rate-limit error codes
TRANSIENT = {1, 2}  # "API Unknown", "API Service": try again
MIN_LEAD = timedelta(minutes=10)  # a scheduled post must be at least this far ahead (Pages API)
CHECK_WITHIN = timedelta(seconds=30)
POSTS_SCANNED = 25  # recent posts whose comments are read as mentions
LIMITS = {
    "facebook": Limits(platform="facebook", max_chars=63206, max_media=10),
    "instagram": Limits(platform="instagram", max_chars=2200, max_media=10),
}


class GraphError(ChannelError):
    """A Graph API error: its message, code and subcode, and the fbtrace_id for Meta's support."""

    def __init__(self, status: int | None, error: dict[str, Any], headers: dict[str, str]) -> None:
        self.status, self.headers = status, headers
        self.code, self.subcode = error.get("code"), error.get("error_subcode")
        self.transient = bool(error.get("is_transient"))
        super().__init__(
            f"Graph API: {error.get('message', 'error')} (code {self.code}"
            + (f", subcode {self.subcode}" if self.subcode else "")
            + (f", fbtrace_id {error['fbtrace_id']}" if error.get("fbtrace_id") else "")
            + ")"
        )

    @property
    def missing(self) -> bool:
        return self.code == 100 and self.subcode == 33  # the object does not exist (or is not ours)


def usage(headers: httpx.Headers | dict[str, str]) -> Headroom | None:
    """Headroom from x-app-usage / x-business-use-case-usage: the highest percentage used."""
    used: list[float] = []
    regain = 0.0
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries = [data] if name == "x-app-usage" else [e for items in data.values() for e in items]
        for entry in entries:
            used += [float(entry.get(k, 0)) for k in ("call_count", "total_cputime", "total_time")]
            regain = max(regain, float(entry.get("estimated_time_to_regain_access", 0)) * 60)
    if not used:
        return None
    now = datetime.now(UTC).timestamp()
    return Headroom(limit=100, remaining=int(100 - max(used)), reset_at=now + regain if regain else None, seen_at=now)


class GraphClient:
    """Graph calls under a Guard: one per Page token, shared by the channel and the queue."""

    # Keyword-only settings with defaults: alike in layout to other constructors, not in what they hold.
    def __init__(
        self,
        name: str,
        *,
        token: str,
        base_url: str = API,
        version: str = VERSION,
        http: httpx.Client | None = None,
        guard: Guard | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._token = token
        self.version = version
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.guard = guard or Guard(
            name, policy=Policy(timeout=timeout), limiter=limiter_for(name), classify=self.classify
        )
        self.headroom: Headroom | None = None

    def __repr__(self) -> str:  # never the token
        return f"GraphClient({self.guard.name!r})"

    @staticmethod
    def classify(exc: BaseException) -> Failure | None:
        if isinstance(exc, GraphError):
            if exc.code in THROTTLED:
                after = exc.headers.get("retry-after")
                regain = usage(exc.headers)
                wait = (
                    float(after)
                    if after
                    else (
                        max(1.0, regain.reset_at - regain.seen_at)
                        if regain and regain.reset_at and regain.seen_at is not None
                        else 60.0
                    )
                )  # usage() always sets seen_at
                return Failure(True, 429, wait, str(exc))
            if exc.code in TRANSIENT or exc.transient or (exc.status or 0) >= 500:
                return Failure(True, exc.status, None, str(exc))
            return None
        if isinstance(exc, httpx.TransportError):
            return http_failure(None, None, type(exc).__name__)
        return None

    def send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> Any:
        response = self.http.request(
            method,
            f"/{self.version}/{path.lstrip('/')}",
            params=params,
            data=data,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        found = usage(response.headers)
        if found is not None:
            self.headroom = found
        if response.status_code >= 400:
            try:
                error = response.json().get("error") or {}
            except ValueError:
                error = {"message": response.text[:200]}
            raise GraphError(response.status_code, error, dict(response.headers))
        return response.json()

    def call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.guard.call(what, lambda: self.send(method, path, **kwargs))

    def pages(self, what: str, path: str, params: dict[str, Any], *, most: int = 10_000) -> list[dict[str, Any]]:
        """Every item of a cursor-paged edge (following `paging.cursors.after` while `next` exists)."""
        out: list[dict[str, Any]] = []
        after = None
        while len(out) < most:
            body = self.call(what, "GET", path, params=dict(params, **({"after": after} if after else {})))
            out += body.get("data") or []
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                break
        return out[:most]


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return datetime.strptime(str(value).replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def _scheduled_at(post: dict[str, Any]) -> datetime:
    at = _time(post["scheduled_publish_time"])
    if at is None:
        raise RemoteQueueError(f"meta: scheduled post {post.get('id')} has no scheduled_publish_time")
    return at


class MetaChannel(LedgeredWrites, TokenAdapter):
    """A Facebook Page (`options.page_id`) or an Instagram professional account (`options.ig_user_id`)."""

    def __init__(
        self,
        account_id: str,
        account: AccountConfig,
        channel: ChannelConfig,
        *,
        http: httpx.Client | None = None,
        **kwargs: Any,
    ) -> None:
        self.platform = channel.platform  # facebook | instagram
        super().__init__(account_id, account, channel, **kwargs)
        options = {**channel.options, **account.options}
        self.node = str(options.get("ig_user_id" if self.platform == "instagram" else "page_id") or "")
        if not self.node:
            raise ChannelError(
                f"account '{account_id}': set options.{'ig_user_id' if self.platform == 'instagram' else 'page_id'}"
            )
        self.graph = GraphClient(
            self.name,
            token=self._token,
            base_url=channel.service or API,
            version=str(options.get("version", VERSION)),
            http=http,
            guard=self.guard,
        )

    def __repr__(self) -> str:
        return f"MetaChannel({self.account_id!r}, {self.platform}:{self.node})"

    def classify(self, exc: BaseException) -> Failure | None:
        return GraphClient.classify(exc)

    @property
    def instagram(self) -> bool:
        return self.platform == "instagram"

    # -- limits and writes ------------------------------------------------------------------------
    def limits(self, account: str | None = None, *, platform: str | None = None) -> Limits:
        return LIMITS[self.platform]

    def problems(self, text: str, media: list[dict[str, Any]] | None) -> list[str]:
        out = check_limits(self.limits(), text=text, media=media)
        if self.instagram and not any(m.get("image_url") for m in media or []):
            out.append("instagram: a post needs an image (media [{image_url: ...}])")
        return out

    # The Channel port's publish() keywords, alike in every adapter; the network's own options follow.
    def publish(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        text: str,
        media: list[dict[str, Any]] | None = None,
        key: str,
    ) -> Receipt:
        problems = self.problems(text, media)
        if problems:
            raise RejectedByLimits(problems)
        return self.write_once(key, "publish", lambda: self._publish(text, media or []), lambda: self._find_post(text))

    def _publish(self, text: str, media: list[dict[str, Any]]) -> str:
        if self.instagram:
            container = self.graph.send(
                "POST", f"{self.node}/media", data={"image_url": media[0]["image_url"], "caption": text}
            )["id"]
            return self.graph.send("POST", f"{self.node}/media_publish", data={"creation_id": container})["id"]
        data: dict[str, Any] = {"message": text}
        for n, item in enumerate(m for m in media if m.get("media_fbid")):
            data[f"attached_media[{n}]"] = json.dumps({"media_fbid": str(item["media_fbid"])})
        return self.graph.send("POST", f"{self.node}/feed", data=data)["id"]

    def reply(
        self, *, account: str | None = None, platform: str | None = None, to_ref: str, text: str, key: str
    ) -> Receipt:
        problems = check_limits(self.limits(), text=text)
        if problems:
            raise RejectedByLimits(problems)
        edge = "replies" if self.instagram else "comments"
        return self.write_once(
            key,
            "reply",
            lambda: self.graph.send("POST", f"{to_ref}/{edge}", data={"message": text})["id"],
            lambda: self._find_reply(to_ref, text),
        )

    def _find_post(self, text: str) -> str | None:
        field = "caption" if self.instagram else "message"
        for post in self._recent(limit=25):
            if post.get(field) == text:
                return post["id"]
        return None

    def _find_reply(self, to_ref: str, text: str) -> str | None:
        edge = "replies" if self.instagram else "comments"
        fields = "id,text,username" if self.instagram else "id,message,from"
        for comment in self.graph.send("GET", f"{to_ref}/{edge}", params={"fields": fields, "limit": 100}).get(
            "data", []
        ):
            if (comment.get("text") or comment.get("message")) == text and (
                comment.get("username") == self.handle or (comment.get("from") or {}).get("id") == self.node
            ):
                return comment["id"]
        return None

    def delete(self, ref: str, *, key: str) -> bool:
        if self.instagram and "_" not in ref and self._is_media(ref):
            raise ChannelError(
                "instagram: this adapter cannot delete published media (only comments); delete it in the Instagram app"
            )
        try:
            return bool(self.graph.call(f"delete {ref}", "DELETE", ref).get("success"))
        except GraphError as exc:
            if exc.missing:
                return False
            raise

    def _is_media(self, ref: str) -> bool:
        return any(m["id"] == ref for m in self._recent(limit=50))

    def owns(self, ref: str) -> bool:
        if self.instagram:
            return False
        return ref.startswith(f"{self.node}_")

    # -- reads ------------------------------------------------------------------------------------
    def _recent(self, *, limit: int) -> list[dict[str, Any]]:
        if self.instagram:
            return self.graph.pages(
                "media",
                f"{self.node}/media",
                {"fields": "id,caption,timestamp,permalink", "limit": min(limit, 100)},
                most=limit,
            )
        return self.graph.pages(
            "published posts",
            f"{self.node}/published_posts",
            {"fields": "id,message,created_time,permalink_url", "limit": min(limit, 100)},
            most=limit,
        )

    def recent_posts(self, account: str | None = None, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        return [self._post(p) for p in self._recent(limit=limit)]

    def _post(self, data: dict[str, Any]) -> Post:
        return Post(
            ref=data["id"],
            account=self.handle,
            platform=self.platform,
            text=data.get("message") or data.get("caption") or "",
            created_at=_time(data.get("created_time") or data.get("timestamp")),
            live=True,
            url=data.get("permalink_url") or data.get("permalink"),
            meta={k: data[k] for k in ("is_published", "scheduled_publish_time") if k in data},
        )

    def get_post(self, ref: str) -> dict[str, Any] | None:
        fields = (
            "id,caption,timestamp,permalink"
            if self.instagram
            else "id,message,created_time,is_published,scheduled_publish_time,permalink_url"
        )
        try:
            return self._post(self.graph.call(f"get {ref}", "GET", ref, params={"fields": fields})).to_dict()
        except GraphError as exc:
            if not exc.missing:
                raise
        if self.owns(ref):
            return Post(
                ref=ref, account=self.handle, platform=self.platform, text="", created_at=None, live=False
            ).to_dict()
        return None

    def mentions(
        self, account: str | None = None, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        """Comments on the account's recent posts after the cursor ("epoch:comment id"), oldest first."""
        after = (0, "")
        if since:
            stamp, _, last = since.partition(":")
            if not stamp.isdigit():
                raise ChannelError(f"{self.platform}: cursor {since!r} is not EPOCH:COMMENT_ID")
            after = (int(stamp), last)
        found: dict[str, Mention] = {}
        fields = "id,text,username,timestamp" if self.instagram else "id,message,from,created_time,parent"
        for post in self._recent(limit=POSTS_SCANNED):
            params = {"fields": fields, "order": "chronological", "limit": 100, "since": after[0]}
            if not self.instagram:
                params["filter"] = "stream"  # replies to comments too
            for c in self.graph.pages("comments", f"{post['id']}/comments", params):
                who = c.get("username") or (c.get("from") or {}).get("name") or "?"
                if who == self.handle or (c.get("from") or {}).get("id") == self.node:
                    continue  # our own replies
                created = _time(c.get("timestamp") or c.get("created_time")) or datetime.now(UTC)
                if (int(created.timestamp()), _seq(c["id"])) <= (after[0], _seq(after[1])):
                    continue
                found[c["id"]] = Mention(
                    ref=c["id"],
                    account=self.handle,
                    platform=self.platform,
                    author=who,
                    author_followers=0,
                    text=c.get("message") or c.get("text") or "",
                    created_at=created,
                    in_reply_to=(c.get("parent") or {}).get("id") or post["id"],
                    meta={"post": post["id"]},
                )
        items = sorted(found.values(), key=lambda m: (int(m.created_at.timestamp()), _seq(m.ref)))[:limit]
        cursor = f"{int(items[-1].created_at.timestamp())}:{items[-1].ref}" if items else since
        return MentionPage(items=items, cursor=cursor)

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        if handle.lstrip("@").lower() != self.handle.lstrip("@").lower():
            return None  # Graph does not look up people by handle
        fields = "id,username,followers_count" if self.instagram else "id,name,followers_count"
        data = self.graph.call("profile", "GET", self.node, params={"fields": fields})
        return AccountInfo(
            handle=self.handle,
            platform=self.platform,
            kind="brand",
            display_name=data.get("name") or data.get("username") or self.handle,
            followers=int(data.get("followers_count") or 0),
        )

    def check(self) -> AccountCheck:
        result = AccountCheck(self.account_id, self.platform, self.handle)
        try:
            me = self.graph.call("me", "GET", "me", params={"fields": "id,name"})
        except ChannelError as exc:
            result.problem(str(exc).splitlines()[0])
            return result
        result.identity = f"{me.get('name')} ({me.get('id')})"
        if not self.instagram and me.get("id") != self.node:
            result.problem(f"the token is for {me.get('id')}, not the Page {self.node}: use that Page's access token")
        result.scopes = (
            ["instagram_basic", "instagram_content_publish", "instagram_manage_comments"]
            if self.instagram
            else ["pages_manage_posts", "pages_read_engagement", "pages_manage_engagement", "pages_read_user_content"]
        )
        result.headroom = self.graph.headroom.to_dict() if self.graph.headroom else None
        limits = self.limits()
        result.limits = {"max_chars": limits.max_chars, "max_media": limits.max_media}
        return result


def _seq(ref: str) -> int:
    tail = ref.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class MetaScheduledQueue:
    """A Page's scheduled posts as a RemoteQueue."""

    def __init__(
        self,
        name: str,
        *,
        page_id: str,
        account: str,
        token: str,
        base_url: str = API,
        version: str = VERSION,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.page_id = page_id
        self.account = account
        self.accounts = (account,)
        self.graph = GraphClient(
            f"meta-queue:{name}", token=token, base_url=base_url, version=version, http=http, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"MetaScheduledQueue({self.name!r}, page {self.page_id})"

    def _wrap(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except ChannelError as exc:  # GraphError, ChannelUnavailable
            raise RemoteQueueError(f"meta {self.name}: {what}: {exc}") from None

    def scheduled(self) -> list[RemotePost]:
        items = self._wrap(
            "list scheduled posts",
            lambda: self.graph.pages(
                "scheduled posts",
                f"{self.page_id}/scheduled_posts",
                {"fields": "id,message,scheduled_publish_time,created_time", "limit": 100},
            ),
        )
        out = [
            RemotePost(
                remote_id=p["id"],
                target=self.page_id,
                account=self.account,
                platform="facebook",
                text=p.get("message", ""),
                run_at=_scheduled_at(p),
                raw=p,
            )
            for p in items
        ]
        return sorted(out, key=lambda p: (p.run_at, p.remote_id))

    def hold(self, post: RemotePost) -> HoldOutcome:
        def work() -> HoldOutcome:
            if post.run_at <= datetime.now(UTC) + CHECK_WITHIN:
                try:
                    current = self.graph.call("get", "GET", post.remote_id, params={"fields": "id,is_published"})
                except GraphError as exc:
                    if exc.missing:
                        return "absent"
                    raise
                if current.get("is_published"):
                    return "published"
            try:
                self.graph.call("delete", "DELETE", post.remote_id)
            except GraphError as exc:
                if exc.missing:
                    return "absent"
                raise
            return "uncertain" if post.run_at <= datetime.now(UTC) else "held"

        return self._wrap(f"hold {post.remote_id}", work)

    def restore(self, post: RemotePost, *, run_at: datetime | None, key: str) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        data: dict[str, Any] = {"message": post.text}
        if run_at is not None:
            # The Pages API refuses a time sooner than 10 minutes ahead: such a post goes out at the
            # earliest time it accepts (the thaw already moves overdue posts 30 minutes out).
            run_at = max(run_at, now + MIN_LEAD + timedelta(seconds=30))
            data.update(published="false", scheduled_publish_time=str(int(run_at.timestamp())))
        made = self._wrap("restore", lambda: self.graph.call("restore", "POST", f"{self.page_id}/feed", data=data))
        return made["id"], (run_at or now).replace(microsecond=0)

    def find_restored(self, post: RemotePost, *, run_at: datetime | None) -> tuple[str, datetime] | None:
        for found in self.scheduled():
            if found.text == post.text and (
                run_at is None or abs((found.run_at - run_at).total_seconds()) < 1 or found.run_at >= run_at
            ):
                return found.remote_id, found.run_at
        return None
