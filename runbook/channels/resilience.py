"""The "good API citizen" layer every real adapter calls through: a timeout budget on every call,
retries with backoff on 429 and 5xx honouring `Retry-After` and rate-limit headers, one shared
limiter per account, and a circuit breaker that reports a dead channel instead of hanging a step.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from runbook.ports.channel import ChannelError, ChannelUnavailable

__all__ = [
    "AccountLimiter",
    "CircuitBreaker",
    "Failure",
    "Guard",
    "Headroom",
    "Policy",
    "TransientError",
    "http_failure",
    "limiter_for",
    "parse_rate_headers",
    "parse_retry_after",
    "reset_limiters",
]

T = TypeVar("T")


class TransientError(ChannelError):
    """A failure worth retrying (429, 5xx, timeout, connection reset), as an adapter classified it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Failure:
    """How an adapter classifies an exception from its SDK."""

    retryable: bool
    status: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After or a rate-limit reset
    message: str = ""


@dataclass(frozen=True)
class Policy:
    timeout: float = 10.0  # seconds per HTTP call (the adapter passes it to its client)
    budget: float = 60.0  # seconds one operation may take with its retries; past it: ChannelUnavailable
    attempts: int = 4
    backoff: float = 0.5  # first back-off; doubles each retry, with jitter
    backoff_max: float = 30.0
    breaker_failures: int = 5  # consecutive failed operations that open the circuit
    breaker_reset: float = 30.0  # seconds the circuit stays open before one trial call


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Headroom:
    """What the network's rate-limit headers said last: remaining calls and when the window resets."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    seen_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_in": None if self.reset_at is None else round(max(0.0, self.reset_at - time.time()), 1),
        }


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in names:
        if name in lowered and lowered[name] not in (None, ""):
            return str(lowered[name])
    return None


def _reset(value: str | None, now: float) -> float | None:
    """A reset as epoch seconds: epoch numbers (X, Bluesky), small numbers as a delta (IETF
    RateLimit draft), or an ISO 8601 time (Mastodon)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return number if number > 1e9 else now + number


def parse_rate_headers(headers: Mapping[str, str], *, now: float | None = None) -> Headroom | None:
    """The rate-limit headers of X (x-rate-limit-*), Mastodon (X-RateLimit-*), Bluesky and the IETF
    draft (RateLimit-*); None when the response has none."""
    now = time.time() if now is None else now
    remaining = _header(headers, "x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
    if remaining is None:
        return None
    limit = _header(headers, "x-rate-limit-limit", "x-ratelimit-limit", "ratelimit-limit")
    reset = _header(headers, "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")

    def number(text: str | None) -> int | None:
        try:
            return None if text is None else int(float(text.split(";")[0]))
        except ValueError:
            return None

    return Headroom(limit=number(limit), remaining=number(remaining), reset_at=_reset(reset, now), seen_at=now)


class AccountLimiter:
    """One per account, shared by every adapter instance and thread in the process: at most
    `count` calls per `per` seconds, and a pause until the reset when the network says none remain."""

    def __init__(
        self,
        count: int | None = None,
        per: float = 1.0,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.count, self.per = count, per
        self.clock, self.sleep = clock, sleep
        self.started: deque[float] = deque(maxlen=count or 1)
        self.blocked_until = 0.0
        self.headroom: Headroom | None = None
        self.waited = 0.0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds before the next call may start (0 when it may start now)."""
        now = self.clock()
        wait = max(0.0, self.blocked_until - now)
        if self.count and len(self.started) >= self.count:
            wait = max(wait, self.started[0] + self.per - now)
        return wait

    def acquire(self, *, deadline: float | None = None) -> None:
        """Wait for a slot; past `deadline` raise instead of waiting (the caller's budget)."""
        while True:
            with self._lock:
                wait = self.delay()
                if wait <= 0:
                    if self.count:
                        self.started.append(self.clock())
                    return
            if deadline is not None and self.clock() + wait > deadline:
                raise ChannelUnavailable(
                    f"rate limit: next call possible in {wait:.1f}s, past this call's budget", retry_after=wait
                )
            self.sleep(wait)
            self.waited += wait

    def observe(self, headers: Mapping[str, str]) -> None:
        found = parse_rate_headers(headers, now=self.clock())
        if found is None:
            return
        with self._lock:
            self.headroom = found
            if found.remaining is not None and found.remaining <= 0 and found.reset_at:
                self.blocked_until = max(self.blocked_until, found.reset_at)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)


_LIMITERS: dict[str, AccountLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(key: str, *, count: int | None = None, per: float = 1.0, **kwargs: Any) -> AccountLimiter:
    """The process-wide limiter of one account (`platform:account`); created on first use."""
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = AccountLimiter(count, per, **kwargs)
        return _LIMITERS[key]


def reset_limiters() -> None:
    """Forget every limiter (tests)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()


@dataclass
class CircuitBreaker:
    """Closed -> open after `failures` consecutive failed operations; open calls fail at once with
    ChannelUnavailable; after `reset` seconds one trial call decides (half-open)."""

    name: str
    failures: int = 5
    reset: float = 30.0
    clock: Callable[[], float] = time.time
    consecutive: int = 0
    opened_at: float | None = None
    last_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.reset else "open"

    def before(self) -> None:
        with self._lock:
            if self.opened_at is not None and self.clock() - self.opened_at < self.reset:
                wait = self.reset - (self.clock() - self.opened_at)
                raise ChannelUnavailable(
                    f"{self.name} is down (circuit open after {self.consecutive} failures: "
                    f"{self.last_error}); next try in {wait:.0f}s",
                    channel=self.name,
                    retry_after=wait,
                )

    def success(self) -> None:
        with self._lock:
            self.consecutive, self.opened_at = 0, None

    def failure(self, error: str) -> None:
        with self._lock:
            self.consecutive += 1
            self.last_error = error
            if self.consecutive >= self.failures:
                self.opened_at = self.clock()


class Guard:
    """Runs one adapter operation under the policy: breaker, limiter, retries, budget.

    `classify(exc)` turns an SDK exception into a Failure (None: not ours, re-raise as is);
    `headers_of(result_or_exc)` gives the rate-limit headers seen, when the SDK exposes them.
    """

    def __init__(
        self,
        name: str,
        *,
        policy: Policy | None = None,
        limiter: AccountLimiter | None = None,
        classify: Callable[[BaseException], Failure | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.policy = policy or Policy()
        self.limiter = limiter or AccountLimiter()
        self.classify = classify or _default_classify
        self.clock, self.sleep = clock, sleep
        self.breaker = CircuitBreaker(
            name, failures=self.policy.breaker_failures, reset=self.policy.breaker_reset, clock=clock
        )
        self.retries = 0

    def call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        """`retry=False` for writes the network cannot make idempotent: one attempt, and the caller
        reconciles (looks the write up) before trying again."""
        self.breaker.before()
        deadline = self.clock() + self.policy.budget
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(deadline=time.time() + max(0.0, deadline - self.clock()))
            try:
                result = fn()
            except ChannelUnavailable:
                raise
            except BaseException as exc:
                failure = self.classify(exc)
                if failure is None:  # a refusal (404, 400, auth): the channel works, the request does not
                    self.breaker.success()
                    raise
                message = failure.message or f"{type(exc).__name__}: {exc}"
                if failure.status == 429 and failure.retry_after:
                    self.limiter.pause(failure.retry_after)
                if not failure.retryable:
                    self.breaker.success()
                    raise
                wait = self._wait(attempt, failure)
                if not retry or attempt >= self.policy.attempts or self.clock() + wait > deadline:
                    self.breaker.failure(message)
                    raise ChannelUnavailable(
                        f"{self.name}: {what} failed after {attempt} attempt(s): {message}",
                        channel=self.name,
                        retry_after=failure.retry_after,
                    ) from exc
                self.retries += 1
                self.sleep(wait)
                continue
            self.breaker.success()
            return result

    def _wait(self, attempt: int, failure: Failure) -> float:
        if failure.retry_after is not None:
            return failure.retry_after
        base = min(self.policy.backoff_max, self.policy.backoff * 2 ** (attempt - 1))
        return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security


def _default_classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, TransientError):
        return Failure(True, exc.status, exc.retry_after, str(exc))
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return Failure(True, None, None, f"{type(exc).__name__}: {exc}")
    return None


def http_failure(status: int | None, headers: Mapping[str, str] | None, message: str) -> Failure | None:
    """The shared rule for HTTP APIs: 429 and 5xx are retried (after Retry-After or the rate-limit
    reset when given), other statuses are the request's fault and raised as is."""
    headers = headers or {}
    if status is None:
        return Failure(True, None, None, message)  # no response at all: network error or timeout
    if status == 429 or status >= 500:
        after = parse_retry_after(_header(headers, "retry-after"))
        if after is None and status == 429:
            found = parse_rate_headers(headers)
            if found is not None and found.reset_at is not None:
                after = max(0.0, found.reset_at - time.time())
        return Failure(True, status, after, message)
    return None
