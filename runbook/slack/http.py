"""HTTP mode: a threaded server for `/slack/events` that checks the signature on the raw bytes
(401 for anything unverifiable, before any parsing) and only then hands the request to Bolt.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.request import BoltRequest

from runbook.slack.quiet import Quiet
from runbook.slack.verify import RequestVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's largest payloads (view submissions) are a few hundred kB


class SlackHTTPServer(ThreadingHTTPServer):
    """Connections are served by a pool of long-lived threads: starting a thread per connection
    makes the accept loop wait for each new thread to get the GIL, which under a burst of clicks
    (and the work after earlier acks) is most of the latency Slack sees."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of clicks queue in the kernel instead of being refused

    def __init__(self, address: tuple[str, int], *, bolt: App, verifier: RequestVerifier,
                 observe: Callable[[float, int], None] | None = None, threads: int = 64, quiet: Quiet | None = None):
        self.bolt = bolt
        self.verifier = verifier
        self.quiet = quiet or Quiet()
        self.observe = observe  # (seconds from request line to response sent, status): for benchmarks
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="runbook-slack-http")
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{EVENTS_PATH}"

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="runbook-slack-http",
                                  daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "runbook-slack"
    timeout = 15  # an idle keep-alive connection gives its pool thread back after this
    _status = 0
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # Only the request line's path: never headers, query strings or bodies.
        log.debug("%s %s", self.command, urlsplit(self.path).path)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self.close_connection = True  # the body may not have been read: do not reuse the socket
        self._send(status, json.dumps({"error": message}).encode(), {"Content-Type": "application/json"})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path == "/healthz":
            self._send(200, b"ok", {"Content-Type": "text/plain"})
        else:
            self._error(404, "not found")

    def do_POST(self) -> None:  # noqa: N802
        started = time.perf_counter()
        try:
            with self.server.quiet.request():
                self._post()
        finally:
            if self.server.observe is not None:
                self.server.observe(time.perf_counter() - started, self._status)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def _post(self) -> None:
        if urlsplit(self.path).path != EVENTS_PATH:
            self._error(404, "not found")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._error(401, "invalid request")
            return
        if length < 0:
            self._error(401, "invalid request")
            return
        if length > MAX_BODY:
            self._error(413, "request too large")
            return
        raw = self.rfile.read(length) if length else b""
        verdict = self.server.verifier.check(dict(self.headers.items()), raw)
        if not verdict:
            log.info("refused a Slack request: %s", verdict.reason)
            self._error(401, "invalid request")
            return
        # Bolt's lazy-listener headers are not signed: a replayed request must not pick a function.
        headers = {k.lower(): v for k, v in self.headers.items() if not k.lower().startswith("x-slack-bolt-")}
        try:
            request = BoltRequest(body=raw.decode("utf-8"), query=urlsplit(self.path).query, headers=headers)
        except Exception:  # noqa: BLE001 - signed but unparsable: a client error, not ours
            self._error(400, "unparsable body")
            return
        try:
            response = self.server.bolt.dispatch(request)
        except Exception:  # noqa: BLE001
            log.exception("dispatch failed")
            self._error(500, "internal error")
            return
        out = {name: values[0] for name, values in response.headers.items() if values and name.lower() != "content-length"}
        body = response.body.encode("utf-8") if isinstance(response.body, str) else (response.body or b"")
        self._send(response.status, body, out)


def make_server(bolt: App, *, signing_secret: str, host: str = "127.0.0.1", port: int = 3000,
                quiet: Quiet | None = None) -> SlackHTTPServer:
    """`quiet`: the SlackApp's, so that its work after acks yields to requests in flight."""
    if not signing_secret:
        raise ValueError("HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")
    return SlackHTTPServer((host, port), bolt=bolt, verifier=RequestVerifier(signing_secret), quiet=quiet)
