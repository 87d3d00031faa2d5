"""The canonical form and hash, checked against an independent spelling of the documented rule."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from runbook.audit.chain import GENESIS_HASH, canonical_json, canonical_row, canonical_ts, digest


def documented_hash(incident_id, seq, ts_iso, actor, channel, action, step, details, prev_hash) -> str:
    """docs/audit.md: SHA-256 of the canonical JSON of the nine-field array."""
    array = [incident_id, seq, ts_iso, actor, channel, action, step, details, prev_hash]
    text = json.dumps(array, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_genesis_is_64_zeros() -> None:
    assert GENESIS_HASH == "0" * 64


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == '{"a":{"c":"\\u00e9","d":[1,2]},"b":1}'


@pytest.mark.parametrize("value", [{"when": datetime.now()}, {"s": {1, 2}}, {"x": float("nan")}, {"o": object()}])
def test_canonical_json_rejects_non_json(value: object) -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        canonical_json(value)


def test_canonical_ts_is_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert canonical_ts(datetime(2026, 11, 23, 10, 0, tzinfo=paris)) == "2026-11-23T09:00:00.000000+00:00"
    assert canonical_ts(datetime(2026, 11, 23, 9, 0, 0, 5)) == "2026-11-23T09:00:00.000005+00:00"


def test_row_hash_matches_the_documented_rule() -> None:
    ts = datetime(2026, 11, 23, 9, 30, 1, 123456, tzinfo=UTC)
    details = {"z": [3, {"y": True}], "a": "sorry \u2014 we", "n": None}
    row = canonical_row(
        incident_id="abc",
        seq=7,
        ts=ts,
        actor="U-alice",
        channel="slack",
        action="signoff.granted",
        step="approve-statement",
        details_json=canonical_json(details),
        prev_hash="f" * 64,
    )
    assert json.loads(row)[7] == details
    expected = documented_hash(
        "abc",
        7,
        "2026-11-23T09:30:01.123456+00:00",
        "U-alice",
        "slack",
        "signoff.granted",
        "approve-statement",
        details,
        "f" * 64,
    )
    assert digest(row) == expected


def test_every_field_is_covered_by_the_hash() -> None:
    base = dict(
        incident_id="abc",
        seq=1,
        ts=datetime(2026, 1, 1, tzinfo=UTC),
        actor="system",
        channel="flow",
        action="a",
        step=None,
        details_json="{}",
        prev_hash=GENESIS_HASH,
    )
    changed = {
        "incident_id": "abd",
        "seq": 2,
        "ts": datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        "actor": "U-bob",
        "channel": "cli",
        "action": "b",
        "step": "",
        "details_json": '{"a":1}',
        "prev_hash": "1" * 64,
    }
    original = digest(canonical_row(**base))
    for name, value in changed.items():
        assert digest(canonical_row(**{**base, name: value})) != original, name


@pytest.mark.parametrize(
    "text", ['say "sorry"', "back\\slash", "tab\tnew\nline\x00", "é ✓ 🔥", "\u2028\u2029", "\ud800", "", "null"]
)
def test_fast_encoding_equals_json_dumps_for_awkward_strings(text: str) -> None:
    ts = datetime(2026, 11, 23, tzinfo=UTC)
    fields = dict(incident_id=text, seq=3, ts=ts, actor=text, channel=text, action=text, step=text, prev_hash=text)
    expected = json.dumps(
        [text, 3, "2026-11-23T00:00:00.000000+00:00", text, text, text, text, {"k": text}, text],
        sort_keys=True,
        separators=(",", ":"),
    )
    assert canonical_row(**fields, details_json=canonical_json({"k": text})) == expected
