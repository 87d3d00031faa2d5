"""The Bluesky adapter (atproto SDK): publish with facets and threads, reply, delete, live state,
own recent posts, mentions and replies since a cursor (notifications, through the AppView).

Idempotency without server support: every write gets its record key (a TID) recorded in the write
ledger BEFORE the call, and a retry first asks the PDS for that key; so a crash anywhere between
our call and our commit resolves to the one record, never a second post.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook.channels.base import AccountCheck, Adapter
from runbook.channels.bluesky_text import MAX_GRAPHEMES, find_facets, new_tid, split_thread
from runbook.channels.config import AccountConfig, ChannelConfig, ConfigError
from runbook.channels.limits import check_limits
from runbook.channels.resilience import Failure, http_failure
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

__all__ = ["BlueskyChannel", "parse_uri"]

POST = "app.bsky.feed.post"
MENTION_REASONS = ["mention", "reply", "quote"]
MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
MAX_BACKFILL = 1000  # notifications read on the very first call (no cursor yet)

_sessions: dict[tuple[str, str], Any] = {}  # (service, handle) -> logged-in Client, shared in the process
_sessions_lock = threading.Lock()


def parse_uri(ref: str) -> tuple[str, str, str]:
    """at://<did>/<collection>/<rkey> -> (did, collection, rkey)."""
    if not ref.startswith("at://"):
        raise ChannelError(f"bluesky: {ref!r} is not an at:// post URI")
    parts = ref[len("at://") :].split("/")
    if len(parts) != 3 or not all(parts):
        raise ChannelError(f"bluesky: {ref!r} is not an at://did/collection/rkey URI")
    return parts[0], parts[1], parts[2]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class BlueskyChannel(Adapter):
    platform = "bluesky"
    name = "bluesky"

    def __init__(self, account_id: str, account: AccountConfig, channel: ChannelConfig, **kwargs: Any) -> None:
        super().__init__(account_id, account, channel, **kwargs)
        self.service = self._service_url("the PDS URL")
        self._client: Any = None
        self._did: str | None = None
        self._lock = threading.Lock()

    # -- session --------------------------------------------------------------------------------
    def _make_client(self) -> Any:
        from atproto import Client
        from atproto_client.request import Request

        limiter = self.guard.limiter

        class ObservedRequest(Request):  # every response's rate-limit headers reach the shared limiter
            def _send_request(self, method: str, url: str, **kwargs: Any) -> Any:
                from atproto_client.request import _handle_request_errors, _handle_response

                headers = self.get_headers(kwargs.pop("headers", None))
                try:
                    response = self._client.request(method=method, url=url, headers=headers, **kwargs)
                except Exception as exc:
                    _handle_request_errors(exc)
                    raise
                limiter.observe(response.headers)
                return _handle_response(response)

        return Client(base_url=self.service, request=ObservedRequest(timeout=self.policy.timeout))

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            key = (self.service, self.handle)
            with _sessions_lock:
                shared = _sessions.get(key)
            if shared is None:
                password = self.config.secret("token", self.environ).get_secret_value()
                fresh = self._make_client()
                # No profile fetch: it needs the AppView to have indexed the account (fails early on).
                self.guard.call("login", lambda: fresh.login(self.handle, password, fetch_bsky_profile=False))
                with _sessions_lock:
                    shared = _sessions.setdefault(key, fresh)
            self._client = shared
            self._did = shared._session.did
            return shared

    @property
    def did(self) -> str:
        self.client  # noqa: B018 - logs in
        assert self._did is not None
        return self._did

    def classify(self, exc: BaseException) -> Failure | None:
        from atproto_client import exceptions as ex

        if isinstance(exc, ex.RequestErrorBase):
            response = exc.response
            if response is None:  # transport error or timeout: no answer at all
                return http_failure(None, None, f"{type(exc).__name__}: {exc}")
            status = response.status_code
            message = f"HTTP {status} {getattr(response.content, 'error', '') or ''}".strip()
            return http_failure(status, response.headers or {}, message)
        if isinstance(exc, (TimeoutError, ConnectionError)):
            return Failure(True, None, None, f"{type(exc).__name__}: {exc}")
        return None

    # -- reads ----------------------------------------------------------------------------------
    def _record(self, ref: str) -> Any | None:
        """The record at `ref` (uri, cid, value), or None when the repo does not have it."""
        from atproto_client import exceptions as ex

        did, collection, rkey = parse_uri(ref)
        try:
            return self.guard.call(
                "getRecord",
                lambda: self.client.com.atproto.repo.get_record({"repo": did, "collection": collection, "rkey": rkey}),
            )
        except ex.BadRequestError as exc:
            error = getattr(exc.response.content, "error", "") if exc.response else ""
            if error in ("RecordNotFound", "InvalidRequest") or "not found" in str(exc).lower():
                return None
            raise ChannelError(f"bluesky: cannot read {ref}: {error or exc}") from None

    def get_post(self, ref: str) -> dict[str, Any] | None:
        try:
            did, _, rkey = parse_uri(ref)
        except ChannelError:
            return None
        record = self._record(ref)
        if record is None:  # gone: the Post of a deleted post, by name as every adapter writes its Post
            return Post(
                ref=ref,
                account=did,
                platform=self.platform,
                text="",
                created_at=None,
                live=False,
                url=self._url(did, rkey),
            ).to_dict()
        value = record.value
        reply = getattr(value, "reply", None)
        meta: dict[str, Any] = {"cid": record.cid}
        try:  # counts come from the AppView; the post itself does not need it
            views = self.guard.call("getPosts", lambda: self.client.app.bsky.feed.get_posts({"uris": [ref]}))
            for view in views.posts:
                meta |= {
                    "likes": view.like_count or 0,
                    "reposts": view.repost_count or 0,
                    "replies": view.reply_count or 0,
                    "quotes": view.quote_count or 0,
                }
        except ChannelError:
            pass
        return Post(
            ref=ref,
            account=did,
            platform=self.platform,
            text=getattr(value, "text", ""),
            created_at=_when(getattr(value, "created_at", None)),
            live=True,
            url=self._url(did, rkey),
            in_reply_to=reply.parent.uri if reply is not None else None,
            meta=meta,
        ).to_dict()

    def recent_posts(self, account: str | None = None, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        out: list[Post] = []
        cursor = None
        while len(out) < limit:

            def list_page(c: str | None = cursor) -> Any:  # the default binds this iteration's cursor
                return self.client.com.atproto.repo.list_records(
                    {"repo": self.did, "collection": POST, "limit": min(100, limit - len(out)), "cursor": c}
                )

            page = self.guard.call("listRecords", list_page)
            for item in page.records:
                _, _, rkey = parse_uri(item.uri)
                value = item.value
                reply = getattr(value, "reply", None)
                out.append(
                    Post(
                        ref=item.uri,
                        account=self.handle,
                        platform=self.platform,
                        text=getattr(value, "text", ""),
                        created_at=_when(getattr(value, "created_at", None)),
                        live=True,
                        url=self._url(self.handle, rkey),
                        in_reply_to=reply.parent.uri if reply is not None else None,
                        meta={"cid": item.cid},
                    )
                )
            cursor = page.cursor
            if not cursor or not page.records:
                break
        return out[:limit]

    def limits(self, account: str | None = None, *, platform: str | None = None) -> Limits:
        return Limits(
            platform=self.platform,
            max_chars=MAX_GRAPHEMES,
            max_media=4,
            count="graphemes",
            threads=True,
            media_types=MEDIA_TYPES,
        )

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        from atproto_client import exceptions as ex

        actor = self.did if handle in (self.account_id, self.handle) else handle.lstrip("@")
        try:
            profile = self.guard.call("getProfile", lambda: self.client.app.bsky.actor.get_profile({"actor": actor}))
        except ex.BadRequestError:
            return None
        return AccountInfo(
            handle=profile.handle,
            platform=self.platform,
            kind="brand" if profile.did == self._did else "personal",
            display_name=profile.display_name or profile.handle,
            followers=profile.followers_count or 0,
        )

    def owns(self, ref: str) -> bool:
        return ref.startswith(f"at://{self.did}/")

    def url_for(self, *, ref: str, platform: str | None = None, account: str | None = None) -> str:
        did, _, rkey = parse_uri(ref)
        return self._url(self.handle if did == self._did else did, rkey)

    @staticmethod
    def _url(actor: str, rkey: str) -> str:
        return f"https://bsky.app/profile/{actor}/post/{rkey}"

    # -- mentions -------------------------------------------------------------------------------
    def mentions(
        self, account: str | None = None, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        """Mentions, replies and quotes after `since`, oldest first. The notification API pages
        newest first; our cursor is the (indexedAt, uri) of the last item handed out."""
        after = _decode_cursor(since)
        fresh: list[Any] = []
        page_cursor = None
        while True:

            def list_page(c: str | None = page_cursor) -> Any:  # the default binds this iteration's cursor
                return self.client.app.bsky.notification.list_notifications(
                    {"limit": 100, "cursor": c, "reasons": MENTION_REASONS}
                )

            page = self.guard.call("listNotifications", list_page)
            reached = False
            for item in page.notifications:
                if item.reason not in MENTION_REASONS:
                    continue
                if after is not None and (item.indexed_at, item.uri) <= after:
                    reached = True
                    break
                fresh.append(item)
            page_cursor = page.cursor
            if reached or not page_cursor or not page.notifications or (after is None and len(fresh) >= MAX_BACKFILL):
                break
        fresh.sort(key=lambda n: (n.indexed_at, n.uri))
        chosen = fresh[:limit]
        followers = self._followers({n.author.did for n in chosen})
        items = [self._mention(n, followers) for n in chosen]
        cursor = _encode_cursor(chosen[-1].indexed_at, chosen[-1].uri) if chosen else since
        return MentionPage(items=items, cursor=cursor)

    def _followers(self, dids: set[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        ordered = sorted(dids)
        for n in range(0, len(ordered), 25):  # getProfiles takes at most 25 actors
            chunk = ordered[n : n + 25]
            try:

                def get_profiles(c: list[str] = chunk) -> Any:  # the default binds this iteration's chunk
                    return self.client.app.bsky.actor.get_profiles({"actors": c})

                found = self.guard.call("getProfiles", get_profiles)
            except ChannelError:
                continue
            out |= {p.did: p.followers_count or 0 for p in found.profiles}
        return out

    def _mention(self, n: Any, followers: dict[str, int]) -> Mention:
        record = n.record
        reply = getattr(record, "reply", None)
        kind = {"mention": "mention", "reply": "reply", "quote": "quote"}[n.reason]
        _, _, rkey = parse_uri(n.uri)
        return Mention(
            ref=n.uri,
            account=self.handle,
            platform=self.platform,
            author=n.author.handle,
            author_followers=followers.get(n.author.did, 0),
            text=getattr(record, "text", ""),
            created_at=_when(getattr(record, "created_at", None)) or _when(n.indexed_at) or datetime.now(UTC),
            in_reply_to=reply.parent.uri if reply is not None else None,
            meta={
                "kind": kind,
                "cid": n.cid,
                "author_did": n.author.did,
                "url": self._url(n.author.handle, rkey),
                "indexed_at": n.indexed_at,
            },
        )

    # -- writes ---------------------------------------------------------------------------------
    def find(self, key: str) -> Receipt | None:
        ledger = self._ledger()
        entry = ledger.get(key) if ledger is not None else None
        if ledger is None or entry is None or entry.action == "delete":
            return None
        if (done := entry.receipt()) is not None:
            return done
        # Claimed but not confirmed: the process died around the call. The PDS knows.
        if entry.native and "#" not in key:
            parts = _rkeys(entry.native)
            if len(parts) == 1:
                ref = f"at://{self.did}/{POST}/{parts[0]}"
                if self._record(ref) is not None:
                    ledger.confirm(key, ref, [ref])
                    return Receipt(ref=ref, key=key, created=False, at=entry.created_at)
        return None  # a thread part-written is finished by publishing again under the same key

    # The Channel port's publish() keywords, alike in every adapter; the network's own options follow.
    def publish(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        text: str,
        media: list[dict[str, Any]] | None = None,
        key: str,
        reply_to: str | None = None,
    ) -> Receipt:
        """A post (a thread when longer than one), optionally with media and as a reply to `reply_to`."""
        return self._write(
            key=key,
            text=text,
            media=media or [],
            action="reply" if reply_to else "publish",
            reply_to=self._reply_refs(reply_to) if reply_to else None,
        )

    def reply(
        self, *, account: str | None = None, platform: str | None = None, to_ref: str, text: str, key: str
    ) -> Receipt:
        return self._write(key=key, text=text, media=[], action="reply", reply_to=self._reply_refs(to_ref))

    def _reply_refs(self, to_ref: str) -> dict[str, Any]:
        """root and parent of a reply to `to_ref`, as the Bluesky app sets them."""
        parent = self._record(to_ref)
        if parent is None:
            raise ChannelError(f"bluesky: cannot reply to {to_ref}: the post is gone")
        parent_reply = getattr(parent.value, "reply", None)
        root = (
            {"uri": parent_reply.root.uri, "cid": parent_reply.root.cid}
            if parent_reply is not None
            else {"uri": parent.uri, "cid": parent.cid}
        )
        return {"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}}

    def _write(
        self, *, key: str, text: str, media: list[dict[str, Any]], reply_to: dict[str, Any] | None, action: str
    ) -> Receipt:
        if not key:
            raise ValueError("an idempotency key is required")
        problems = check_limits(self.limits(), text=text, media=media)
        if problems:
            raise RejectedByLimits(problems)
        ledger = self._ledger()
        if ledger is None:
            raise ConfigError("the bluesky adapter needs the database for its write ledger")
        found = self.find(key)
        if found is not None:
            return found
        parts = split_thread(text)
        # One TID per part, chosen once and recorded before anything is sent.
        entry = ledger.claim(
            key,
            account=self.account_id,
            platform=self.platform,
            action=action,
            native=json.dumps([new_tid() for _ in parts]) if len(parts) > 1 else new_tid(),
        )
        assert entry.native is not None  # every Bluesky write is claimed with its record keys
        rkeys = _rkeys(entry.native)
        if len(rkeys) != len(parts):  # the text changed under the same key: keep the first write's shape
            raise ChannelError(f"bluesky: key {key} was first used for a {len(rkeys)}-part post")
        embed = self._embed(media) if media else None
        written: list[dict[str, str]] = []
        for n, (part, rkey) in enumerate(zip(parts, rkeys, strict=True)):
            reply = reply_to
            if n > 0:
                reply = {"root": reply_to["root"] if reply_to else written[0], "parent": written[-1]}
            record = self._post_record(part, reply=reply, embed=embed if n == 0 else None)
            written.append(self._create(rkey, record))
            ledger.progress(key, [w["uri"] for w in written])
        refs = [w["uri"] for w in written]
        ledger.confirm(key, refs[0], refs)
        return Receipt(ref=refs[0], key=key, created=True, at=datetime.now(UTC))

    def _post_record(self, text: str, *, reply: dict[str, Any] | None, embed: dict[str, Any] | None) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _now_iso(), "langs": ["en"]}
        facets = self._facets(text)
        if facets:
            record["facets"] = facets
        if reply:
            record["reply"] = reply
        if embed:
            record["embed"] = embed
        return record

    def _facets(self, text: str) -> list[dict[str, Any]]:
        out = []
        for facet in find_facets(text):
            if facet.kind == "mention":
                did = self._resolve(facet.value)
                if did is None:
                    continue  # an unknown handle stays plain text, as the Bluesky app does
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
            elif facet.kind == "link":
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": facet.value}
            else:
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": facet.value}
            out.append({"index": {"byteStart": facet.start, "byteEnd": facet.end}, "features": [feature]})
        return out

    def _resolve(self, handle: str) -> str | None:
        from atproto_client import exceptions as ex

        try:
            return self.guard.call(
                "resolveHandle", lambda: self.client.com.atproto.identity.resolve_handle({"handle": handle})
            ).did
        except ex.BadRequestError:
            return None

    def _embed(self, media: list[dict[str, Any]]) -> dict[str, Any]:
        """Media refs: {"path": file, "alt": text, "type": mime} (uploaded as a blob) or
        {"blob": <blob ref from an earlier upload>, "alt": text}."""
        images = []
        for n, item in enumerate(media):
            blob = item.get("blob")
            if blob is None:
                path = item.get("path")
                if not path:
                    raise ChannelError(f"bluesky: media[{n}] needs path or blob")
                data = Path(str(path)).read_bytes()

                def upload(d: bytes = data) -> Any:  # the default binds this iteration's bytes
                    return self.client.com.atproto.repo.upload_blob(d)

                uploaded = self.guard.call("uploadBlob", upload)
                blob = uploaded.blob.model_dump(by_alias=True, exclude_none=True)
                blob = _blob_json(blob)
            images.append({"alt": str(item.get("alt") or ""), "image": blob})
        return {"$type": "app.bsky.embed.images", "images": images}

    def _create(self, rkey: str, record: dict[str, Any]) -> dict[str, str]:
        ref = f"at://{self.did}/{POST}/{rkey}"

        def attempt() -> dict[str, str]:
            # Each attempt asks first: a create that timed out may have landed (a second create
            # of the same key is a 500 on the PDS, not a clean conflict).
            existing = self._record(ref)
            if existing is not None:
                return {"uri": existing.uri, "cid": existing.cid}
            created = self.client.com.atproto.repo.create_record(
                {"repo": self.did, "collection": POST, "rkey": rkey, "record": record}
            )
            return {"uri": created.uri, "cid": created.cid}

        return self.guard.call("createRecord", attempt)

    # delete() and the check hooks below fill in Adapter's templates (delete_once, check): alike in shape
    # in each adapter, each in its network's calls and words.
    def delete(self, ref: str, *, key: str) -> bool:
        did, collection, rkey = parse_uri(ref)
        if did != self.did:
            raise ChannelError(f"bluesky: {ref} is not a post of {self.handle}; only our own posts can be deleted")

        def delete_record(_: Any) -> bool:
            request = {"repo": did, "collection": collection, "rkey": rkey}
            self.guard.call("deleteRecord", lambda: self.client.com.atproto.repo.delete_record(request))
            return True

        return self.delete_once(key, ref, lambda: self._record(ref), delete_record)

    # -- channels check -------------------------------------------------------------------------------
    def login(self) -> Any:
        return self.client

    def login_problem(self, exc: Exception) -> str | None:
        if isinstance(exc, ChannelError):
            return f"cannot log in at {self.service}: {exc}"
        return f"login refused at {self.service}: {_first_line(exc)}"  # the SDK's auth refusal

    def check_login(self, client: Any, result: AccountCheck) -> None:
        session = client._session
        result.identity = f"{session.handle} ({session.did})"
        if session.handle != self.handle.lstrip("@"):
            result.problem(f"the credentials log in as {session.handle}, not {self.handle}")
        scope = _jwt_scope(session.access_jwt)
        result.scopes = [scope] if scope else []
        if scope == "com.atproto.appPass":
            result.scopes.append("no DMs (app password without direct-message access)")
        try:
            self.guard.call("listNotifications", lambda: client.app.bsky.notification.list_notifications({"limit": 1}))
        except Exception as exc:  # noqa: BLE001
            result.problem(f"mentions unavailable (notifications need the AppView): {_first_line(exc)}")
        result.limits = self.limits().__dict__
        result.rate_headroom(self.guard.limiter.headroom)


def _rkeys(native: str) -> list[str]:
    """The record keys a write was claimed with: one TID, or a JSON list of them (a thread)."""
    return json.loads(native) if native.startswith("[") else [native]


def _blob_json(blob: dict[str, Any]) -> dict[str, Any]:
    ref = blob.get("ref")
    if isinstance(ref, dict) and "$link" in ref:
        return blob
    link = getattr(ref, "link", None) or (ref.get("link") if isinstance(ref, dict) else None) or str(ref)
    return {
        "$type": "blob",
        "ref": {"$link": link},
        "mimeType": blob.get("mimeType") or blob.get("mime_type"),
        "size": blob.get("size"),
    }


def _jwt_scope(token: str | None) -> str | None:
    """The access token's scope claim (read, not verified: it only labels what the session may do)."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("scope")
    except (ValueError, UnicodeDecodeError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _encode_cursor(indexed_at: str, uri: str) -> str:
    return f"{indexed_at}|{uri}"


def _decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    indexed_at, _, uri = cursor.partition("|")
    return indexed_at, uri
