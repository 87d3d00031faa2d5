"""What every local fake API shares: a ThreadingHTTPServer on port 0, a route table, a call log,
and scripted faults (a status with headers and body, a stall longer than the client's timeout,
or an injected delay) that tests queue up to see how the adapters behave under them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json: Any
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        for source in (self.form, self.query):
            if name in source:
                return source[name][-1]
        if isinstance(self.json, dict) and name in self.json:
            return self.json[name]
        return default


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """A scripted answer for the next matching request: `stall` seconds of silence first (longer
    than the client's timeout makes a timeout), then `status`/`body`/`headers` unless None."""

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0
    match: str = ""  # a substring of "METHOD /path"; empty matches every request
    apply: bool = False  # do the request first, then answer with `status`: the answer is lost


Handler = Callable[[Request], Response]
TICK = 0.005  # how often a fake's own clock looks for due work


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: deque[Fault] = deque()
        self.calls: list[tuple[float, str, str, int]] = []  # (monotonic, method, path, status)
        self.lock = threading.RLock()
        self.delay = 0.0  # added to every answer: a slow network
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile("^" + pattern + "$"), handler))

    def fail(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def count(self, method: str, path_prefix: str = "") -> int:
        with self.lock:
            return sum(1 for _, m, p, _ in self.calls if m == method and p.startswith(path_prefix))

    def tick(self, now: float) -> None:
        """A fake with its own clock (a scheduler that publishes due posts) overrides this."""

    def _clock(self) -> None:
        while self.running:
            with self.lock:
                self.tick(time.time())
            time.sleep(TICK)

    def start(self) -> FakeServer:
        self.running = True
        self.thread.start()
        if type(self).tick is not FakeServer.tick:
            threading.Thread(target=self._clock, daemon=True).start()
        return self

    def stop(self) -> None:
        self.running = False
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch -------------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in list(self.faults):
                if fault.match in f"{method} {path}":
                    self.faults.remove(fault)
                    return fault
        return None

    def dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self.routes:
            found = pattern.match(request.path)
            if method == request.method and found:
                request.params.update(found.groupdict())
                return handler(request)
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": f"no route {request.method} {request.path}"})


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Keep-alive with the headers and the body in two writes meets Nagle and delayed ACKs:
        # 40 ms a request. Real APIs answer in one go.
        disable_nagle_algorithm = True
        wbufsize = 1 << 16

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            form: dict[str, list[str]] = {}
            body: Any = None
            if "application/json" in ctype and raw:
                body = json.loads(raw)
            elif raw:
                form = parse_qs(raw.decode(), keep_blank_values=True)
            request = Request(
                self.command,
                split.path,
                parse_qs(split.query, keep_blank_values=True),
                form,
                body,
                {k.lower(): v for k, v in self.headers.items()},
            )
            fault = fake.take_fault(self.command, split.path)
            if fake.delay:
                time.sleep(fake.delay)
            if fault is not None and fault.stall:
                time.sleep(fault.stall)
            if fault is not None and fault.status is not None and fault.apply:
                fake.dispatch(request)
            if fault is not None and fault.status is not None:
                response = Response(fault.status, fault.body if fault.body is not None else {}, dict(fault.headers))
            else:
                try:
                    response = fake.dispatch(request)
                except Exception as exc:  # noqa: BLE001 - a bug in the fake must show, not hang
                    response = Response(500, {"error": f"fake crashed: {exc!r}"})
            with fake.lock:
                fake.calls.append((time.monotonic(), self.command, split.path, response.status))
            data = json.dumps(response.body).encode()
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                pass

        do_GET = do_POST = do_DELETE = do_PUT = _serve

    return _Handler
