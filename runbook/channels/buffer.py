"""Buffer as a RemoteQueue (classic REST API, api.bufferapp.com/1): list each profile's pending
updates, take one off the queue (destroy, after the caller stored it in full), put it back
(create with `scheduled_at`). Buffer has no idempotency keys: a restore is found again by
profile, text and time (`find_restored`), which the remote thaw asks before creating twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from runbook.channels.resilience import Failure, Guard, Policy, TransientError, http_failure, limiter_for
from runbook.ports.channel import ChannelError
from runbook.ports.remote_queue import HoldOutcome, RemotePost, RemoteQueueError

__all__ = ["BufferQueue"]

API = "https://api.bufferapp.com"
PAGE = 100  # Buffer's largest page
# A post due sooner than this is read before it is destroyed: if Buffer sent it meanwhile, the
# destroy would only erase Buffer's record of a post that is out, and we must report it as out.
CHECK_WITHIN = timedelta(seconds=30)
SERVICES = {"twitter": "x"}  # Buffer's service names that differ from ours


class BufferQueue:
    def __init__(
        self,
        name: str,
        *,
        token: str,
        profiles: dict[str, str],
        base_url: str = API,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        rate_limit: str | None = "60/1m",
        policy: Policy | None = None,
    ) -> None:
        """`profiles`: Buffer profile id -> the brand account handle it publishes as. `rate_limit`:
        Buffer's documented 60 requests a minute per user, shared by every queue on the token."""
        self.name = name
        self.profiles = dict(profiles)
        self.accounts = tuple(sorted(set(self.profiles.values())))
        self._token = token
        self._own_http = http is None
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        count, per = (None, 1.0)
        if rate_limit:
            from runbook.messaging.sending import RateLimit

            parsed = RateLimit.parse(rate_limit)
            count, per = parsed.count, parsed.per
        self.guard = Guard(
            f"buffer:{name}",
            policy=policy or Policy(timeout=timeout),
            limiter=limiter_for(f"buffer:{base_url}:{len(token)}:{token[-4:]}", count=count, per=per),
            classify=_classify,
        )

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __repr__(self) -> str:  # never the token
        return f"BufferQueue({self.name!r}, profiles={sorted(self.profiles)})"

    # -- calls ----------------------------------------------------------------------------------
    def _send(self, method: str, path: str, data: Any, params: dict[str, Any] | None, write: bool) -> httpx.Response:
        try:
            response = self.http.request(
                method, f"/1/{path}", data=data, params=params, headers={"Authorization": f"Bearer {self._token}"}
            )
        except httpx.TransportError:
            if write:  # the create may have reached Buffer: the caller looks it up before trying again
                raise RemoteQueueError(f"buffer {self.name}: {method} {path}: no answer") from None
            raise
        # A 429 is refused before any work; after a 5xx a create may or may not exist.
        if response.status_code == 429 or (response.status_code >= 500 and not write):
            raise TransientError(
                f"HTTP {response.status_code}", status=response.status_code, headers=dict(response.headers)
            )
        return response

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: Any = None,
        params: dict[str, Any] | None = None,
        missing_ok: bool = False,
        write: bool = False,
    ) -> Any:
        try:
            response = self.guard.call(f"{method} {path}", lambda: self._send(method, path, data, params, write))
        except ChannelError as exc:  # retries spent, circuit open
            raise RemoteQueueError(f"buffer {self.name}: {method} {path}: {exc}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = f"{body.get('message')} (code {body.get('code')})"
            except ValueError:
                detail = response.text[:200]
            raise RemoteQueueError(f"buffer {self.name}: {method} {path}: HTTP {response.status_code}: {detail}")
        return response.json()

    # -- RemoteQueue ----------------------------------------------------------------------------
    def scheduled(self) -> list[RemotePost]:
        out: list[RemotePost] = []
        for pid in self.profiles:
            for update in self._pending(pid):
                out.append(self._post(update))
        return sorted(out, key=lambda p: (p.run_at, p.remote_id))

    def _pending(self, pid: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._call(
                "GET", f"profiles/{pid}/updates/pending.json", params={"page": page, "count": PAGE, "utc": "true"}
            )
            updates = body.get("updates") or []
            found.extend(updates)
            if len(updates) < PAGE or len(found) >= int(body.get("total") or 0):
                return found
            page += 1

    def _post(self, update: dict[str, Any]) -> RemotePost:
        pid = update["profile_id"]
        media = [update["media"]] if update.get("media") else []
        return RemotePost(
            remote_id=update["id"],
            target=pid,
            account=self.profiles[pid],
            platform=SERVICES.get(update.get("profile_service", ""), update.get("profile_service", "")),
            text=update.get("text", ""),
            run_at=datetime.fromtimestamp(update["due_at"], UTC),
            media=media,
            raw=update,
        )

    def hold(self, post: RemotePost) -> HoldOutcome:
        if post.run_at <= datetime.now(UTC) + CHECK_WITHIN:
            current = self._call("GET", f"updates/{post.remote_id}.json", missing_ok=True)
            if current is None:
                return "absent"
            if current.get("status") != "buffer":
                return "published"
        gone = self._call("POST", f"updates/{post.remote_id}/destroy.json", missing_ok=True)
        if gone is None:
            return "absent"
        # Destroyed once its time had come: Buffer may have sent it just before (a destroy of a
        # sent update succeeds too and only erases Buffer's record of it).
        return "uncertain" if post.run_at <= datetime.now(UTC) else "held"

    def restore(self, post: RemotePost, *, run_at: datetime | None, key: str) -> tuple[str, datetime]:
        form: dict[str, Any] = {"profile_ids[]": [post.target], "text": post.text}
        if run_at is None:
            form["now"] = "true"
        else:
            form["scheduled_at"] = str(int(run_at.timestamp()))
        for media in post.media[:1]:  # Buffer takes one media object per update
            for name, value in media.items():
                form[f"media[{name}]"] = value
        body = self._call("POST", "updates/create.json", data=form, write=True)
        update = body["updates"][0]
        return update["id"], datetime.fromtimestamp(update["due_at"], UTC)

    def find_restored(self, post: RemotePost, *, run_at: datetime | None) -> tuple[str, datetime] | None:
        """An update already in the queue with this post's profile, text and time (a restore that
        reached Buffer before a crash), or None."""
        for update in self._pending(post.target):
            same_time = run_at is None or int(update["due_at"]) == int(run_at.timestamp())
            if update.get("text") == post.text and same_time:
                return update["id"], datetime.fromtimestamp(update["due_at"], UTC)
        return None


def _classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, TransientError):
        return http_failure(exc.status, exc.headers, str(exc))
    if isinstance(exc, httpx.TransportError):
        return http_failure(None, None, type(exc).__name__)
    return None
