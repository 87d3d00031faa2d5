"""The good-citizen layer against a real local HTTP server: Retry-After honoured on 429, backoff on
5xx, timeouts, the shared per-account limiter, and the circuit breaker reporting a dead channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from runbook.channels.resilience import (
    AccountLimiter,
    Guard,
    Policy,
    http_failure,
    parse_rate_headers,
    parse_retry_after,
)
from runbook.ports.channel import ChannelUnavailable


class Script:
    """What the server answers, in order: (status, headers, delay); the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], float]] = [(200, {}, 0.0)]
        self.times: list[float] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            script.times.append(time.monotonic())
            status, headers, delay = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
            time.sleep(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def _classify(exc: BaseException):
    if isinstance(exc, httpx.HTTPStatusError):
        return http_failure(exc.response.status_code, exc.response.headers, f"HTTP {exc.response.status_code}")
    if isinstance(exc, httpx.TransportError):
        return http_failure(None, None, f"{type(exc).__name__}")
    return None


def _get(client: httpx.Client, url: str, limiter: AccountLimiter | None = None):
    def call():
        response = client.get(url)
        if limiter is not None:
            limiter.observe(response.headers)
        response.raise_for_status()
        return response.status_code

    return call


def test_429_waits_for_retry_after_then_succeeds(server) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "1"}, 0), (503, {}, 0), (200, {}, 0)]
    guard = Guard("t", policy=Policy(backoff=0.05), classify=_classify)
    with httpx.Client(timeout=2) as client:
        assert guard.call("get", _get(client, url)) == 200
    assert len(script.times) == 3
    assert script.times[1] - script.times[0] >= 0.95  # Retry-After: 1 was honoured
    assert guard.retries == 2


def test_a_refusal_is_not_retried(server) -> None:
    url, script = server
    script.answers = [(404, {}, 0)]
    guard = Guard("t", classify=_classify)
    with httpx.Client(timeout=2) as client, pytest.raises(httpx.HTTPStatusError):
        guard.call("get", _get(client, url))
    assert len(script.times) == 1


def test_timeouts_then_the_breaker_opens_and_fails_fast(server) -> None:
    url, script = server
    script.answers = [(200, {}, 1.0)]  # slower than the client's timeout, every time
    guard = Guard(
        "bluesky:brand",
        policy=Policy(attempts=2, backoff=0.01, breaker_failures=2, breaker_reset=60),
        classify=_classify,
    )
    with httpx.Client(timeout=0.2) as client:
        for _ in range(2):
            with pytest.raises(ChannelUnavailable, match="failed after 2 attempt"):
                guard.call("get", _get(client, url))
        began = time.monotonic()
        with pytest.raises(ChannelUnavailable, match="circuit open") as caught:
            guard.call("get", _get(client, url))
    assert time.monotonic() - began < 0.5  # no call was made: the step learns at once
    assert caught.value.channel == "bluesky:brand" and caught.value.retry_after > 50
    assert len(script.times) == 4


def test_budget_stops_a_retry_after_longer_than_the_step_may_wait(server) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "120"}, 0)]
    guard = Guard("t", policy=Policy(budget=5), classify=_classify)
    began = time.monotonic()
    with httpx.Client(timeout=2) as client, pytest.raises(ChannelUnavailable) as caught:
        guard.call("get", _get(client, url))
    assert time.monotonic() - began < 1 and caught.value.retry_after == 120


def test_rate_limit_headers_pause_the_shared_limiter(server) -> None:
    url, script = server
    reset = int(time.time()) + 2  # whole seconds: the wait is between 1 and 2 s
    script.answers = [
        (200, {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}, 0),
        (200, {}, 0),
    ]
    limiter = AccountLimiter()
    guard = Guard("t", limiter=limiter, classify=_classify)
    with httpx.Client(timeout=2) as client:
        guard.call("get", _get(client, url, limiter))
        guard.call("get", _get(client, url, limiter))
    assert script.times[1] - script.times[0] >= 0.9 and time.time() >= reset - 0.05
    assert limiter.headroom is not None and limiter.headroom.limit == 3000


def test_limiter_keeps_to_n_per_period() -> None:
    limiter = AccountLimiter(3, 0.3)
    began = time.monotonic()
    for _ in range(7):
        limiter.acquire()
    assert time.monotonic() - began >= 0.6


def test_header_parsing_of_each_network() -> None:
    now = 1_800_000_000.0
    x = parse_rate_headers(
        {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "7", "x-rate-limit-reset": "1800000900"}, now=now
    )
    assert (x.limit, x.remaining, x.reset_at) == (300, 7, 1_800_000_900)
    masto = parse_rate_headers(
        {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299", "X-RateLimit-Reset": "2027-02-01T00:00:00.000Z"},
        now=now,
    )
    assert masto.remaining == 299 and masto.reset_at > now
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    assert parse_retry_after("2.5") == 2.5 and parse_retry_after("soon") is None
