"""A real local HTTP server for the link checks (no mocks), and a policy with a media library."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _answer(self, body: bool) -> None:
        port = self.server.server_address[1]
        path = self.path
        if path == "/slow":
            time.sleep(1.5)
        if path == "/nohead" and not body:
            self.send_response(405)
        elif path in ("/ok", "/product/shoes", "/", "/slow", "/nohead"):
            self.send_response(200)
        elif path == "/elsewhere":
            self.send_response(301)
            self.send_header("Location", f"http://localhost:{port}/ok")  # another host name
        elif path == "/discontinued":
            self.send_response(302)
            self.send_header("Location", "/")
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
        elif path == "/moved-here":
            self.send_response(301)
            self.send_header("Location", "/product/shoes")
        else:
            self.send_response(404)
        self.send_header("Content-Length", "2" if body else "0")
        self.end_headers()
        if body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
