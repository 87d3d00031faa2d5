"""Times as people type them: ISO 8601 (a time without offset is UTC), `now`, or `+10m` / `+2h` / `+1d`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """Parse a time; raises ValueError with a readable message."""
    value = str(text).strip()
    now = now or utcnow()
    if value.lower() == "now":
        return now
    relative = _RELATIVE.match(value)
    if relative:
        return now + timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time: {value!r} (use ISO 8601 like 2026-12-01T09:00:00+01:00, 'now' or '+10m')"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use 30s, 10m, 2h or 1d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
