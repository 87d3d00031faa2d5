"""A local fake of Buffer's classic REST API (api.bufferapp.com/1, as documented on Buffer's
developer pages): profiles, pending and sent updates, create, destroy; access token as query
parameter or Bearer header; form-encoded POSTs; `{"success": false, "code", "message"}` errors;
429 over the per-user limit (60 requests a minute, off unless `rate_limit` is set).

Like Buffer, it publishes due updates on its own clock: a thread moves every update whose
`due_at` has come from the queue to `sent` and appends it to `published`, the ground truth
tests compare against.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

from tests.networks.fakes.base import FakeServer, Request, Response


class FakeBuffer(FakeServer):
    def __init__(self, *, token: str = "buffer-token", rate_limit: int | None = None) -> None:
        super().__init__()
        self.token = token
        self.rate_limit = rate_limit  # requests per minute per token, as Buffer documents
        self.window: deque[float] = deque()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.published: list[dict[str, Any]] = []  # what went out, in order: {id, text, due_at, sent_at}
        self.destroyed: list[str] = []
        self.ids = itertools.count(1)
        self.route("GET", r"/1/user\.json", self._user)
        self.route("GET", r"/1/profiles\.json", self._profiles)
        self.route("GET", r"/1/profiles/(?P<pid>\w+)/updates/(?P<kind>pending|sent)\.json", self._list)
        self.route("GET", r"/1/updates/(?P<uid>\w+)\.json", self._get)
        self.route("POST", r"/1/updates/create\.json", self._create)
        self.route("POST", r"/1/updates/(?P<uid>\w+)/destroy\.json", self._destroy)

    # -- test set-up ----------------------------------------------------------------------------
    def add_profile(self, service: str, username: str) -> str:
        pid = f"{next(self.ids):024x}"
        self.profiles[pid] = {
            "id": pid,
            "service": service,
            "service_username": username,
            "formatted_username": f"@{username}",
            "default": not self.profiles,
            "timezone": "UTC",
            "created_at": int(time.time()),
        }
        return pid

    def add_update(self, pid: str, text: str, due_at: float, media: dict[str, Any] | None = None) -> str:
        with self.lock:
            return self._new_update(pid, text, due_at, media)["id"]

    def pending(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted((u for u in self.updates.values() if u["status"] == "buffer"), key=lambda u: u["due_at"])

    # -- the scheduler's own clock --------------------------------------------------------------
    def tick(self, now: float) -> None:
        for update in sorted(self.updates.values(), key=lambda u: u["due_at"]):
            if update["status"] == "buffer" and update["due_at"] <= now:
                update.update(status="sent", sent_at=now, service_update_id=str(next(self.ids)))
                self.published.append(
                    {"id": update["id"], "text": update["text"], "due_at": update["due_at"], "sent_at": now}
                )

    # -- API ------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        token = request.arg("access_token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token != self.token:
            return _error(401, 1001, "Access token required.")
        if self.rate_limit is not None:
            now = time.monotonic()
            with self.lock:
                while self.window and self.window[0] < now - 60:
                    self.window.popleft()
                if len(self.window) >= self.rate_limit:
                    return _error(429, 1000, "Rate limit exceeded: 60 requests per minute.")
                self.window.append(now)
        return super().dispatch(request)

    def not_found(self, request: Request) -> Response:
        return _error(404, 1000, "An unknown error occurred.")

    def _user(self, request: Request) -> Response:
        return Response(200, {"id": "4eb9276e0acb04bb81000067", "name": "Brand team", "timezone": "UTC"})

    def _profiles(self, request: Request) -> Response:
        with self.lock:
            out = []
            for p in self.profiles.values():
                counts = {
                    "pending": sum(
                        1 for u in self.updates.values() if u["profile_id"] == p["id"] and u["status"] == "buffer"
                    ),
                    "sent": sum(
                        1 for u in self.updates.values() if u["profile_id"] == p["id"] and u["status"] == "sent"
                    ),
                }
                out.append({**p, "counts": counts})
        return Response(200, out)

    def _list(self, request: Request) -> Response:
        pid, kind = request.params["pid"], request.params["kind"]
        if pid not in self.profiles:
            return _error(404, 1010, "Profile could not be found.")
        try:
            page = int(request.arg("page", "1"))
            count = int(request.arg("count", "10"))
        except ValueError:
            return _error(400, 1006, "Parameter value not within bounds.")
        if not 1 <= count <= 100 or page < 1:
            return _error(400, 1006, "Parameter value not within bounds.")
        status = "buffer" if kind == "pending" else "sent"
        with self.lock:
            found = [dict(u) for u in self.updates.values() if u["profile_id"] == pid and u["status"] == status]
        found.sort(key=lambda u: u["due_at"] if status == "buffer" else -u["sent_at"])
        return Response(200, {"total": len(found), "updates": found[(page - 1) * count : page * count]})

    def _get(self, request: Request) -> Response:
        with self.lock:
            update = self.updates.get(request.params["uid"])
            return Response(200, dict(update)) if update else _error(404, 1020, "Update could not be found.")

    def _create(self, request: Request) -> Response:
        pids = request.form.get("profile_ids[]", [])
        text = request.arg("text")
        if not pids or text is None:
            return _error(400, 1004, "Required parameter missing.")
        if any(p not in self.profiles for p in pids):
            return _error(404, 1010, "Profile could not be found.")
        scheduled = request.arg("scheduled_at")
        now_flag = request.arg("now") in ("true", "1")
        due = time.time() if now_flag or not scheduled else _timestamp(scheduled)
        if due is None:
            return _error(400, 1006, "Parameter value not within bounds.")
        media = {k[6:-1]: v[-1] for k, v in request.form.items() if k.startswith("media[")}
        with self.lock:
            made = [self._new_update(pid, text, due, media or None) for pid in pids]
            count = sum(1 for u in self.updates.values() if u["status"] == "buffer")
        return Response(
            200,
            {
                "success": True,
                "buffer_count": count,
                "buffer_percentage": min(100, count),
                "updates": [dict(u) for u in made],
            },
        )

    def _destroy(self, request: Request) -> Response:
        with self.lock:
            update = self.updates.pop(request.params["uid"], None)
            if update is None:
                return _error(404, 1020, "Update could not be found.")
            self.destroyed.append(update["id"])
        return Response(200, {"success": True})

    def _new_update(self, pid: str, text: str, due_at: float, media: dict[str, Any] | None) -> dict[str, Any]:
        uid = f"{next(self.ids):024x}"
        due_at = int(due_at)  # Buffer keeps whole seconds
        profile = self.profiles[pid]
        update = {
            "id": uid,
            "created_at": int(time.time()),
            "day": time.strftime("%A %d %B", time.gmtime(due_at)),
            "due_at": due_at,
            "due_time": time.strftime("%I:%M %p", time.gmtime(due_at)).lower(),
            "profile_id": pid,
            "profile_service": profile["service"],
            "status": "buffer",
            "text": text,
            "text_formatted": text,
            "user_id": "4eb9276e0acb04bb81000067",
            "via": "api",
        }
        if media:
            update["media"] = media
        self.updates[uid] = update
        return update


def _timestamp(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        from datetime import datetime

        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None


def _error(status: int, code: int, message: str) -> Response:
    return Response(status, {"success": False, "code": code, "message": message})
