"""Slack request signatures checked on the raw bytes, before anything parses the body.

Every malformed case is a refusal with a reason (the HTTP layer answers 401), never an exception:
slack_sdk's `SignatureVerifier` raises on a non-integer timestamp and on a non-UTF-8 body.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slack_sdk.signature import Clock, SignatureVerifier

MAX_SKEW_SECONDS = 300  # Slack's own window; a valid signature can be replayed inside it
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")  # digits only: int() would also take "+1_0 "
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


class _FixedClock(Clock):
    def __init__(self, now: Callable[[], float]):
        self._now = now

    def now(self) -> float:
        return self._now()


def _header(headers: Mapping[str, object], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            return value if isinstance(value, str) else None
    return None


class RequestVerifier:
    """Checks `X-Slack-Signature` over `v0:{timestamp}:{raw body}` with the signing secret."""

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.time):
        self._now = now
        self._verifier = SignatureVerifier(signing_secret=signing_secret, clock=_FixedClock(now))

    def check(self, headers: Mapping[str, object], body: bytes) -> Verdict:
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not timestamp:
            return Verdict(False, "missing X-Slack-Request-Timestamp")
        if not signature:
            return Verdict(False, "missing X-Slack-Signature")
        if not _TIMESTAMP.match(timestamp):
            return Verdict(False, "X-Slack-Request-Timestamp is not an integer")
        if abs(self._now() - int(timestamp)) > MAX_SKEW_SECONDS:
            return Verdict(False, "stale timestamp (more than 5 minutes off)")
        if not _SIGNATURE.match(signature):
            return Verdict(False, "malformed X-Slack-Signature")
        if not isinstance(body, (bytes, bytearray)):
            return Verdict(False, "body is not bytes")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(False, "body is not UTF-8")
        try:
            valid = self._verifier.is_valid(body=text, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError, UnicodeError):  # the library's own raising cases, kept as a net
            return Verdict(False, "unverifiable request")
        return Verdict(True) if valid else Verdict(False, "bad signature")


def sign(signing_secret: str, body: bytes, timestamp: int | str) -> dict[str, str]:
    """Headers Slack would send with `body` (for tests, the bench and local tooling)."""
    import hashlib
    import hmac

    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}
