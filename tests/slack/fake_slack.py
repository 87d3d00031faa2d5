"""A fake of Slack's Web API on a local ThreadingHTTPServer: records every call with its arrival
time and answers like Slack (ok/error envelopes, `name_taken`, 429 with Retry-After), plus
`/response/<id>` endpoints that stand in for response_url.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200
    authorization: str = ""


@dataclass
class FakeSlack:
    token: str = "xoxb-fake-bot-token"
    calls: list[Call] = field(default_factory=list)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {name, members, private}
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> message
    responses: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)  # response_url posts
    taken: set[str] = field(default_factory=set)  # channel names that already exist in the workspace
    # Slack's per-channel limit, enforced: a second chat.postMessage within `min_gap` gets a 429.
    strict_rate: bool = False
    min_gap: float = 0.95
    app_token: str = "xapp-fake-app-token"
    socket_url: str = ""  # what apps.connections.open hands out (a local WebSocket server in tests)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._fail: dict[str, list[int]] = {}  # method -> Retry-After of the next 429s
        self._last_post: dict[str, float] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str | None = None) -> str:
        return f"{self.base}/response/{name or next(self._ids)}"

    # -- scripting -----------------------------------------------------------------------------------
    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        with self._lock:
            self._fail.setdefault(method, []).extend([retry_after] * times)

    # -- reading -------------------------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [
            c
            for c in self.of("chat.postMessage")
            if c.status == 200 and (channel is None or c.params.get("channel") == channel)
        ]

    def wait_for(self, predicate, *, timeout: float = 30.0, what: str = "condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                snapshot = list(self.calls)
            found = predicate(snapshot)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"fake Slack: no {what} within {timeout}s; calls: {[c.method for c in self.calls]}")

    def wait_response(self, predicate=lambda p: True, *, after: int = 0, timeout: float = 30.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                hits = [p for _, p, _ in self.responses[after:] if predicate(p)]
            if hits:
                return hits[0]
            time.sleep(0.05)
        raise AssertionError(
            f"no response_url post within {timeout}s; got {[p.get('text') for _, p, _ in self.responses]}"
        )

    # -- answering -----------------------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any], authorization: str) -> tuple[int, dict[str, Any], dict]:
        now = time.monotonic()
        with self._lock:
            call = Call(method=method, params=params, at=now, authorization=authorization)
            self.calls.append(call)
            expected = self.app_token if method == "apps.connections.open" else self.token
            if authorization != f"Bearer {expected}":
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            queue = self._fail.get(method)
            if queue:
                call.status = 429
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(queue.pop(0))}
            if method == "chat.postMessage" and self.strict_rate:
                channel = params.get("channel", "")
                last = self._last_post.get(channel)
                if last is not None and now - last < self.min_gap:
                    call.status = 429
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
                self._last_post[channel] = now
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            body = handler(params) if handler else {"ok": True}
            return 200, body, {}

    def _auth_test(self, p):
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Brand",
            "user": "runbook",
            "team_id": "T0BRAND",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, p):
        if not self.socket_url:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _conversations_create(self, p):
        name = p.get("name", "")
        if len(name) > 80 or not name or name != name.lower():
            return {"ok": False, "error": "invalid_name"}
        if name in self.taken or any(c["name"] == name for c in self.channels.values()):
            return {"ok": False, "error": "name_taken"}
        channel_id = f"C{next(self._ids):08d}"
        private = str(p.get("is_private")).lower() in ("true", "1")
        self.channels[channel_id] = {"name": name, "members": {"U0BOT"}, "private": private}
        return {"ok": True, "channel": {"id": channel_id, "name": name, "is_private": private}}

    def _conversations_invite(self, p):
        channel = self.channels.get(p.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        users = [u for u in str(p.get("users", "")).split(",") if u]
        new = [u for u in users if u not in channel["members"]]
        if not new:
            return {"ok": False, "error": "already_in_channel"}
        channel["members"].update(new)
        return {"ok": True, "channel": {"id": p["channel"]}}

    def _chat_postMessage(self, p):
        channel = p.get("channel", "")
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks is not None and len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        message = {"channel": channel, "ts": ts, "text": p.get("text", ""), "blocks": blocks or []}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, p):
        key = (p.get("channel", ""), p.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        self.messages[key].update({"text": p.get("text", ""), "blocks": blocks or self.messages[key]["blocks"]})
        return {"ok": True, "channel": key[0], "ts": key[1], "text": p.get("text", "")}

    def _chat_postEphemeral(self, p):
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ids):06d}"}

    def _views_open(self, p):
        view = p.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        return {"ok": True, "view": {**(view or {}), "id": f"V{next(self._ids):08d}", "hash": "h1"}}


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body.decode("utf-8"))
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}


def _handler(fake: FakeSlack):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if urlsplit(self.path).path != "/_calls":
                return self.do_POST()
            # For a fake running in another process (the benchmark): what it recorded so far.
            with fake._lock:
                data = json.dumps(
                    [{"method": c.method, "params": c.params, "status": c.status} for c in fake.calls]
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b""
            params = _parse(raw, self.headers.get("Content-Type", ""))
            path = urlsplit(self.path).path
            if path.startswith("/api/"):
                params.update({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                status, body, headers = fake.answer(path[len("/api/") :], params, self.headers.get("Authorization", ""))
            elif path.startswith("/response/"):
                with fake._lock:
                    fake.responses.append((path, params, time.monotonic()))
                status, body, headers = 200, None, {}
            else:
                status, body, headers = 404, {"ok": False, "error": "unknown_method"}, {}
            data = b"ok" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if body is None else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


if __name__ == "__main__":  # a fake in its own process: prints its base URL, serves until killed
    fake = FakeSlack().start()
    print(f"FAKE {fake.base}", flush=True)
    threading.Event().wait()
