"""HTTP mode: `/slack/events` served by uvicorn (asyncio: a slow client holds a coroutine, not a
thread), with header, body and keep-alive timeouts. The signature is checked on the raw bytes
(401 for anything unverifiable, before any parsing), malformed payloads and unknown methods get a
4xx, and only then is the request handed to Bolt, in a small thread pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import h11
import uvicorn
from slack_bolt import App
from slack_bolt.request import BoltRequest
from uvicorn.protocols.http.h11_impl import H11Protocol

from runbook.slack.access import ReplayGuard
from runbook.slack.quiet import Quiet
from runbook.slack.verify import RequestVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's largest payloads (view submissions) are a few hundred kB
HEADER_TIMEOUT = 10.0  # seconds from connect (or the previous response) to a complete header block
BODY_TIMEOUT = 10.0  # seconds to receive the whole body once the headers are in
KEEP_ALIVE = 5  # an idle keep-alive connection is closed after this


class _TimedH11(H11Protocol):
    """uvicorn's h11 protocol plus a header deadline: uvicorn itself waits forever for a header
    block that trickles in a byte at a time (the slow-loris case)."""

    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a whole header block arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def malformed(raw: bytes, content_type: str) -> str | None:
    """Why a signed body is not a Slack payload Bolt can take, or None. Bolt answers some shapes
    (`actions` not a list, a view without `type`) with a 500 from deep inside; we say 400."""
    try:
        if content_type.startswith("application/json"):
            return None if isinstance(json.loads(raw), dict) else "the JSON body is not an object"
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        if "payload" not in form:
            return None
        payload = json.loads(form["payload"][0])
    except (ValueError, UnicodeDecodeError):
        return "unparsable body"
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "payload is not an object with a type"
    actions = payload.get("actions")
    if "actions" in payload and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return "actions is not a list of objects"
    view = payload.get("view")
    if "view" in payload and view is not None and not (isinstance(view, dict) and isinstance(view.get("type"), str)):
        return "view is not an object with a type"
    for name in ("user", "team", "channel", "container"):
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            return f"{name} is not an object"
    return None


class SlackHTTPServer:
    """The ASGI app and the uvicorn server running it in a thread of its own."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        bolt: App,
        verifier: RequestVerifier,
        observe: Callable[[float, int], None] | None = None,
        threads: int = 16,
        quiet: Quiet | None = None,
    ):
        self.bolt = bolt
        self.verifier = verifier
        self.quiet = quiet or Quiet()
        self.observe = observe  # (seconds from request start to response sent, status): for benchmarks
        self.replays = ReplayGuard()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="runbook-slack-http")
        self._socket = socket.create_server(address, backlog=2048, reuse_port=False)
        self.server_address = self._socket.getsockname()
        config = uvicorn.Config(
            self,
            http=_TimedH11,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE,
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{EVENTS_PATH}"

    # -- running -------------------------------------------------------------------------------
    def start_background(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._run, name="runbook-slack-http", daemon=True)
        self._thread.start()
        end = time.monotonic() + 15
        while not self._server.started and self._thread.is_alive() and time.monotonic() < end:
            time.sleep(0.01)
        if not self._server.started:
            raise RuntimeError("the Slack HTTP server did not start")
        return self._thread

    def _run(self) -> None:
        # Not in the main thread: uvicorn leaves the process's signal handlers alone.
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        thread = self._thread or self.start_background()
        while thread.is_alive():
            thread.join(poll_interval)

    def shutdown(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def server_close(self) -> None:
        self.shutdown()
        self._socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the ASGI app --------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        status = 500
        try:
            status = await self._handle(scope, receive, send)
        finally:
            if self.observe is not None:
                self.observe(time.perf_counter() - started, status)

    async def _handle(self, scope: dict, receive: Callable, send: Callable) -> int:
        method, path = scope["method"], scope["path"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            return await _respond(send, 200, b"ok", {"content-type": "text/plain"})
        if path != EVENTS_PATH:
            return await _error(send, 404, "not found")
        if method != "POST":
            return await _error(send, 405, "method not allowed", {"allow": "POST"})
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _error(send, 401, "invalid request")
            if int(declared) > MAX_BODY:
                return await _error(send, 413, "request too large")
        try:
            raw = await asyncio.wait_for(_read_body(receive), BODY_TIMEOUT)
        except _TooLarge:
            return await _error(send, 413, "request too large")
        except TimeoutError:
            return await _error(send, 408, "request body too slow")
        verdict = self.verifier.check(headers, raw)
        if not verdict:
            log.info("refused a Slack request: %s", verdict.reason)
            return await _error(send, 401, "invalid request")
        if not self.replays.first(("signature", headers.get("x-slack-signature"))):
            # The same signed bytes again, within Slack's 5-minute window: a replay, never new work.
            log.warning("refused a replayed Slack request")
            return await _error(send, 409, "this request was already received")
        problem = malformed(raw, headers.get("content-type", ""))
        if problem:
            log.info("refused a signed Slack request: %s", problem)
            return await _error(send, 400, problem)
        # Bolt's lazy-listener headers are not signed: a replayed request must not pick a function.
        bolt_headers: dict[str, str | Sequence[str]] = {
            k: v for k, v in headers.items() if not k.startswith("x-slack-bolt-")
        }
        query = scope.get("query_string", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self._pool, self._dispatch, raw, query, bolt_headers)
        except Exception:  # noqa: BLE001
            log.exception("dispatch failed")
            return await _error(send, 500, "internal error")
        out = {
            name: values[0] for name, values in response.headers.items() if values and name.lower() != "content-length"
        }
        body = response.body.encode("utf-8") if isinstance(response.body, str) else (response.body or b"")
        return await _respond(send, response.status, body, out)

    def _dispatch(self, raw: bytes, query: str, headers: dict[str, str | Sequence[str]]):
        with self.quiet.request():
            request = BoltRequest(body=raw.decode("utf-8"), query=query, headers=headers)
            return self.bolt.dispatch(request)


class _TooLarge(Exception):
    pass


async def _read_body(receive: Callable) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _respond(send: Callable, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
    raw_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (headers or {}).items()]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def _error(send: Callable, status: int, message: str, headers: dict[str, str] | None = None) -> int:
    return await _respond(
        send, status, json.dumps({"error": message}).encode(), {"content-type": "application/json", **(headers or {})}
    )


def make_server(
    bolt: App, *, signing_secret: str, host: str = "127.0.0.1", port: int = 3000, quiet: Quiet | None = None
) -> SlackHTTPServer:
    """`quiet`: the SlackApp's, so that its work after acks yields to requests in flight."""
    if not signing_secret:
        raise ValueError("HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")
    return SlackHTTPServer((host, port), bolt=bolt, verifier=RequestVerifier(signing_secret), quiet=quiet)
