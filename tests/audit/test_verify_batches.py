"""The verifier's fast path for intact batches must find exactly what the careful, row-by-row walk
finds, however the stream is cut into batches: tampering is generated, not picked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.audit.chain import GENESIS_HASH, canonical_json, canonical_row, canonical_ts, canonical_ts_text, digest
from runbook.audit.verify import IncidentWalk

T0 = datetime(2014, 9, 8, 20, 15, tzinfo=UTC)


def _chain(n: int, *, sqlite_text: bool) -> list[tuple[Any, ...]]:
    """n intact rows in the streamed layout, ts as SQLite's stored text or as a datetime."""
    rows: list[tuple[Any, ...]] = []
    for seq in range(1, n + 1):
        ts = T0 + timedelta(seconds=seq, microseconds=seq * 7)
        details = canonical_json({"i": seq, "text": 'sorry ✓ "quoted"', "none": None})
        step = None if seq % 3 == 0 else f"step-{seq % 4}"
        actor = "system" if seq % 2 else "U-ana"
        fields = dict(incident_id="inc", seq=seq, ts=ts, actor=actor, channel="flow", action="reply.sent", step=step)
        stored_prev = rows[-1][9] if rows else GENESIS_HASH
        own = digest(canonical_row(**fields, details_json=details, prev_hash=stored_prev))
        shown = ts.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if sqlite_text else ts
        rows.append(("inc", seq, shown, actor, "flow", "reply.sent", step, details, stored_prev, own))
    return rows


def _problems(rows: list[tuple[Any, ...]], cuts: list[int], checkpoints: dict[int, list[str]], careful: bool):
    walk = IncidentWalk("inc", {seq: list(h) for seq, h in checkpoints.items()}, careful=careful)
    edges = [0, *sorted(set(c for c in cuts if 0 < c < len(rows))), len(rows)]
    for start, end in zip(edges, edges[1:]):
        walk.feed(rows[start:end])
    walk.finish()
    return [(p.seq, p.kind) for p in walk.problems], walk.checked, walk.last


def _tamper(rows: list[tuple[Any, ...]], kind: str, at: int) -> list[tuple[Any, ...]]:
    rows = list(rows)
    k = at % len(rows)
    if kind == "alter":
        rows[k] = (*rows[k][:7], rows[k][7].replace("sorry", "SORRY"), *rows[k][8:])
    elif kind == "respell":  # valid JSON, not canonical: still the same event
        rows[k] = (*rows[k][:7], rows[k][7].replace(",", ", "), *rows[k][8:])
    elif kind == "forge":  # altered and rehashed: only the next row's link shows it
        i, seq, ts, actor, channel, action, step, details, prev, _ = rows[k]
        details = details.replace("sorry", "SORRY")
        fields = dict(incident_id=i, seq=seq, ts=ts, actor=actor, channel=channel, action=action, step=step)
        rows[k] = (*rows[k][:7], details, prev, digest(canonical_row(**fields, details_json=details, prev_hash=prev)))
    elif kind == "rechain":  # a row deleted and every later one rehashed: only the seq gap shows it
        del rows[k]
        for j in range(k, len(rows)):
            i, seq, ts, actor, channel, action, step, details, _, _ = rows[j]
            prev = rows[j - 1][9] if j else GENESIS_HASH
            fields = dict(incident_id=i, seq=seq, ts=ts, actor=actor, channel=channel, action=action, step=step)
            rows[j] = (*rows[j][:8], prev, digest(canonical_row(**fields, details_json=details, prev_hash=prev)))
    elif kind == "delete":
        del rows[k]
    elif kind == "relink":
        rows[k] = (*rows[k][:8], "f" * 64, rows[k][9])
    elif kind == "swap" and k + 1 < len(rows):
        a, b = rows[k], rows[k + 1]
        rows[k], rows[k + 1] = (b[0], a[1], *b[2:]), (a[0], b[1], *a[2:])
    return rows


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 40),
    sqlite_text=st.booleans(),
    tampering=st.lists(
        st.tuples(
            st.sampled_from(["alter", "forge", "rechain", "respell", "delete", "relink", "swap"]), st.integers(0, 99)
        ),
        max_size=3,
    ),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    checkpoint_at=st.lists(st.tuples(st.integers(1, 45), st.booleans()), max_size=3),
)
def test_batches_find_what_the_careful_walk_finds(n, sqlite_text, tampering, cuts, checkpoint_at) -> None:
    intact = _chain(n, sqlite_text=sqlite_text)
    rows = intact
    for kind, at in tampering:
        rows = _tamper(rows, kind, at) or rows  # a chain tampered down to nothing stays as it was
    by_seq = {row[1]: row[9] for row in intact}
    checkpoints = {seq: [by_seq.get(seq, "0" * 64) if good else "e" * 64] for seq, good in checkpoint_at}
    reference = _problems(rows, [], checkpoints, careful=True)
    assert _problems(rows, cuts, checkpoints, careful=False) == reference
    if not tampering and not checkpoint_at:
        assert reference == ([], n, rows[-1])


def test_an_intact_chain_passes_and_a_swap_across_a_batch_edge_is_named() -> None:
    rows = _chain(10, sqlite_text=True)
    assert _problems(rows, [5], {}, careful=False)[:2] == ([], 10)
    swapped = _tamper(rows, "swap", 4)  # rows 5 and 6: the edge falls between them
    assert _problems(swapped, [5], {}, careful=False)[0] == [(5, "order")]


def test_sqlite_time_text_is_respliced_into_the_canonical_form() -> None:
    when = datetime(2026, 11, 23, 9, 0, 0, 5, tzinfo=UTC)
    assert canonical_ts_text("2026-11-23 09:00:00.000005") == canonical_ts(when)
    assert canonical_ts_text("2026-11-23T10:00:00+01:00") == "2026-11-23T09:00:00.000000+00:00"
    assert canonical_ts_text(when) == canonical_ts(when)
