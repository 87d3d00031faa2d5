"""The hash chain: canonical JSON, the canonical form of an audit row, and its SHA-256.

Pure functions with no database code, so an exported trail can be re-verified anywhere.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from runbook.canonical import canonical_json
from runbook.canonical import dumps as _dumps

__all__ = ["GENESIS_HASH", "canonical_json", "canonical_row", "canonical_ts", "canonical_ts_text", "digest"]

GENESIS_HASH = "0" * 64

_encode_str = json.encoder.encode_basestring_ascii


def canonical_ts(ts: datetime) -> str:
    """ISO-8601 in UTC with microseconds; a naive datetime is taken to be UTC already."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds") + "+00:00"


def canonical_ts_text(value: datetime | str) -> str:
    """`canonical_ts` of a time as the database hands it back. SQLite's stored text, naive UTC
    ('YYYY-MM-DD HH:MM:SS.ffffff', SQLAlchemy's format), is respliced without parsing: a trail of a
    million rows is verified from its text. Any other spelling or a datetime goes through canonical_ts."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:]}+00:00"
        return canonical_ts(datetime.fromisoformat(value))
    return canonical_ts(value)


def _string(value: object) -> str:
    # The C string encoder json.dumps itself uses, without the per-call encoder set-up; the
    # hash of every row goes through here, so verification speed depends on it.
    return _encode_str(value) if type(value) is str else _dumps(value)


def canonical_row(
    *,
    incident_id: str,
    seq: int,
    ts: datetime | str,
    actor: str,
    channel: str,
    action: str,
    step: str | None,
    details_json: str,
    prev_hash: str,
) -> str:
    """The canonical JSON array hashed for one event.

    Equal to `canonical_json([incident_id, seq, ts, actor, channel, action, step, details,
    prev_hash])`; `details_json` is spliced in as already-canonical text so verification can
    hash the stored column without parsing it; `ts` may be the database's own text (canonical_ts_text).
    """
    number = repr(seq) if type(seq) is int else _dumps(seq)
    step_text = "null" if step is None else _string(step)
    return (
        f'[{_string(incident_id)},{number},"{canonical_ts_text(ts)}",{_string(actor)},{_string(channel)},'
        f"{_string(action)},{step_text},{details_json},{_string(prev_hash)}]"
    )


def digest(canonical: str) -> str:
    """The hex SHA-256 of a canonical row: the event's `hash`."""
    return hashlib.sha256(canonical.encode()).hexdigest()
