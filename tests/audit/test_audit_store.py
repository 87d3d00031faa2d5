"""Appending, reading and checkpointing the chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from runbook import audit
from tests.audit.audit_helpers import fill, new_incident, rehash


def test_append_builds_a_contiguous_linked_chain(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    appended = fill(engine, incident.id, 5)
    stored = audit.events(engine, incident.id)

    assert [event.seq for event in stored] == [1, 2, 3, 4, 5]
    assert stored[0].prev_hash == audit.GENESIS_HASH
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.hash
    for event in stored:
        assert rehash(event) == event.hash
    assert [event.hash for event in appended] == [event.hash for event in stored]
    assert stored[2].details == {"i": 2, "text": "We're sorry ✓", "nested": {"b": [1, 2], "a": None}}


def test_chains_are_per_incident(engine: sa.Engine) -> None:
    first, second = new_incident(engine, "one"), new_incident(engine, "two")
    fill(engine, first.id, 2)
    event = audit.append(engine, incident_id=second.id, actor="system", channel="flow", action="incident.started")
    assert (event.seq, event.prev_hash) == (1, audit.GENESIS_HASH)


def test_timestamps_round_trip_as_utc_with_microseconds(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    local = datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=timezone(timedelta(hours=-5)))
    audit.append(engine, incident_id=incident.id, actor="system", channel="flow", action="a", now=local)
    (stored,) = audit.events(engine, incident.id)
    assert stored.ts == local
    assert stored.ts.tzinfo is not None and stored.ts.utcoffset() == timedelta(0)
    assert audit.verify(engine).ok


def test_details_are_stored_in_canonical_form(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    audit.append(
        engine, incident_id=incident.id, actor="system", channel="flow", action="a", details={"b": 1, "a": [True]}
    )
    with engine.connect() as connection:
        text = connection.execute(sa.text("SELECT CAST(details AS TEXT) FROM audit_event")).scalar_one()
    assert text == '{"a":[true],"b":1}'


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"channel": "email"}, "channel must be one of"),
        ({"actor": ""}, "actor must be a non-empty string"),
        ({"actor": "  "}, "actor must be a non-empty string"),
        ({"action": ""}, "action must be a non-empty string"),
        ({"details": {"at": datetime.now(UTC)}}, "not JSON-serialisable"),
        ({"details": ["a"]}, "details must be a dict"),
    ],
)
def test_append_rejects_bad_arguments(engine: sa.Engine, fields: dict, message: str) -> None:
    incident = new_incident(engine)
    arguments = {"incident_id": incident.id, "actor": "system", "channel": "flow", "action": "a", **fields}
    with pytest.raises(ValueError, match=message):
        audit.append(engine, **arguments)
    assert audit.events(engine, incident.id) == []


def test_append_to_unknown_incident(engine: sa.Engine) -> None:
    with pytest.raises(audit.IncidentNotFound):
        audit.append(engine, incident_id="nope", actor="system", channel="flow", action="a")


def test_checkpoint_records_the_head(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    assert audit.checkpoint(engine, incident.id, reason="signoff approve-statement") is None
    events = fill(engine, incident.id, 3)
    recorded = audit.checkpoint(engine, incident.id, reason="signoff approve-statement")
    assert recorded is not None
    assert (recorded.seq, recorded.hash, recorded.reason) == (3, events[-1].hash, "signoff approve-statement")
    assert [(c.seq, c.hash) for c in audit.checkpoints(engine, incident.id)] == [(3, events[-1].hash)]
    with pytest.raises(audit.IncidentNotFound):
        audit.checkpoint(engine, "nope", reason="x")


def test_append_once_appends_one_event_per_key(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    event = {"incident_id": incident.id, "actor": "system", "channel": "flow", "action": "flow.recovered"}

    first = audit.append_once(engine, once=("state_id", "s1"), **event, details={"state_id": "s1"})
    again = audit.append_once(engine, once=("state_id", "s1"), **event, details={"state_id": "s1", "n": 2})
    other = audit.append_once(engine, once=("state_id", "s2"), **event, details={"state_id": "s2"})
    # Another action with the same key is not the same work.
    noted = audit.append_once(
        engine, once=("state_id", "s1"), **{**event, "action": "flow.noted"}, details={"state_id": "s1"}
    )

    assert first is not None and other is not None and noted is not None
    assert again is None
    assert [(e.action, e.details) for e in audit.events(engine, incident.id)] == [
        ("flow.recovered", {"state_id": "s1"}),
        ("flow.recovered", {"state_id": "s2"}),
        ("flow.noted", {"state_id": "s1"}),
    ]


def test_append_once_from_eight_threads_at_once_appends_once(engine: sa.Engine) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    incident = new_incident(engine)
    start = threading.Barrier(8)

    def race(_: int) -> bool:
        start.wait()
        details = {"state_id": "crashed-1"}
        made = audit.append_once(
            engine,
            once=("state_id", "crashed-1"),
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action="flow.recovered",
            details=details,
        )
        return made is not None

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(race, range(8)))

    assert won.count(True) == 1
    assert [e.action for e in audit.events(engine, incident.id)] == ["flow.recovered"]
    assert audit.verify(engine, incident.id).ok
