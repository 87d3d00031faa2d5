"""`verify` catches each kind of tampering an attacker with database access could do.

Each test drops the triggers, tampers, restores them (audit_helpers.tamper) and expects exactly
the problems listed, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from runbook import audit
from tests.audit.audit_helpers import fill, new_incident, rehash, tamper


@pytest.fixture
def incident(engine: sa.Engine) -> audit.Incident:
    incident = new_incident(engine)
    fill(engine, incident.id, 6)
    return incident


def kinds(report: audit.VerifyReport) -> list[tuple[int, str]]:
    return [(problem.seq, problem.kind) for problem in report.problems]


def at(incident: audit.Incident, sql: str, **params) -> tuple[str, dict]:
    return sql, {"incident": incident.id, **params}


def rewrite_from(engine: sa.Engine, incident: audit.Incident, seq: int, actor: str) -> None:
    """Change one event's actor and recompute every later hash so the chain links again."""
    events = audit.events(engine, incident.id)
    statements, prev_hash = [], events[seq - 2].hash if seq > 1 else audit.GENESIS_HASH
    for event in events[seq - 1 :]:
        new_actor = actor if event.seq == seq else event.actor
        new_hash = rehash(event, actor=new_actor, prev_hash=prev_hash)
        statements.append(
            at(
                incident,
                "UPDATE audit_event SET actor = :actor, prev_hash = :prev, hash = :hash"
                " WHERE incident_id = :incident AND seq = :seq",
                actor=new_actor,
                prev=prev_hash,
                hash=new_hash,
                seq=event.seq,
            )
        )
        prev_hash = new_hash
    tamper(engine, *statements)


def test_intact_trail_verifies(engine: sa.Engine, incident: audit.Incident) -> None:
    other = new_incident(engine, "second")
    fill(engine, other.id, 2)
    audit.checkpoint(engine, incident.id, reason="signoff")
    new_incident(engine, "no events yet")
    report = audit.verify(engine)
    assert (report.ok, report.checked, report.incidents, report.problems) == (True, 8, 3, [])
    one = audit.verify(engine, other.slug)
    assert (one.ok, one.checked, one.incidents) == (True, 2, 1)


def test_edited_row(engine: sa.Engine, incident: audit.Incident) -> None:
    tamper(engine, at(incident, "UPDATE audit_event SET actor = 'U-mallory' WHERE incident_id = :incident AND seq = 3"))
    report = audit.verify(engine)
    assert not report.ok
    assert kinds(report) == [(3, "hash_mismatch")]
    assert report.problems[0].incident_id == incident.id


def test_edited_timestamp(engine: sa.Engine, incident: audit.Incident) -> None:
    later = audit.events(engine, incident.id)[1].ts + timedelta(microseconds=1)
    tamper(engine, at(incident, "UPDATE audit_event SET ts = :ts WHERE incident_id = :incident AND seq = 2", ts=later))
    assert kinds(audit.verify(engine)) == [(2, "hash_mismatch")]


def test_deleted_row(engine: sa.Engine, incident: audit.Incident) -> None:
    tamper(engine, at(incident, "DELETE FROM audit_event WHERE incident_id = :incident AND seq = 3"))
    report = audit.verify(engine)
    assert kinds(report) == [(3, "gap")]
    assert "3 missing" in report.problems[0].message


def test_deleted_first_rows(engine: sa.Engine, incident: audit.Incident) -> None:
    tamper(engine, at(incident, "DELETE FROM audit_event WHERE incident_id = :incident AND seq <= 2"))
    assert kinds(audit.verify(engine)) == [(1, "gap")]


def test_reordered_pair(engine: sa.Engine, incident: audit.Incident) -> None:
    swap = "UPDATE audit_event SET seq = :new WHERE incident_id = :incident AND seq = :old"
    tamper(
        engine,
        at(incident, swap, old=3, new=-1),
        at(incident, swap, old=4, new=3),
        at(incident, swap, old=-1, new=4),
    )
    report = audit.verify(engine)
    assert kinds(report) == [(3, "order")]
    assert report.checked == 6


def test_edited_row_with_its_hash_recomputed_breaks_the_next_link(engine: sa.Engine, incident: audit.Incident) -> None:
    forged = rehash(audit.events(engine, incident.id)[2], actor="U-mallory")
    tamper(
        engine,
        at(
            incident,
            "UPDATE audit_event SET actor = 'U-mallory', hash = :h WHERE incident_id = :incident AND seq = 3",
            h=forged,
        ),
    )
    assert kinds(audit.verify(engine)) == [(4, "broken_link")]


def test_recomputed_chain_is_caught_by_the_checkpoint(engine: sa.Engine, incident: audit.Incident) -> None:
    audit.checkpoint(engine, incident.id, reason="signoff approve-statement")  # head: seq 6
    rewrite_from(engine, incident, 3, "U-mallory")
    report = audit.verify(engine)
    # The chain itself is consistent again; only the recorded head gives it away.
    assert kinds(report) == [(6, "checkpoint_mismatch")]
    assert audit.events(engine, incident.id)[2].actor == "U-mallory"


def test_deleted_checkpointed_tail(engine: sa.Engine, incident: audit.Incident) -> None:
    audit.checkpoint(engine, incident.id, reason="incident completed")
    tamper(engine, at(incident, "DELETE FROM audit_event WHERE incident_id = :incident AND seq >= 5"))
    assert kinds(audit.verify(engine)) == [(6, "missing_checkpoint_event")]


def test_all_events_deleted_but_checkpoint_remains(engine: sa.Engine, incident: audit.Incident) -> None:
    audit.checkpoint(engine, incident.id, reason="signoff")
    tamper(engine, at(incident, "DELETE FROM audit_event WHERE incident_id = :incident"))
    report = audit.verify(engine)
    assert (kinds(report), report.checked) == ([(6, "missing_checkpoint_event")], 0)


def test_tail_after_the_last_checkpoint_is_not_anchored(engine: sa.Engine, incident: audit.Incident) -> None:
    """Documented limit (docs/audit.md): events after the last checkpoint can vanish unseen."""
    audit.checkpoint(engine, incident.id, reason="signoff")
    fill(engine, incident.id, 2, start=6)
    tamper(engine, at(incident, "DELETE FROM audit_event WHERE incident_id = :incident AND seq > 6"))
    assert audit.verify(engine).ok


def test_first_broken_comes_first(engine: sa.Engine, incident: audit.Incident) -> None:
    later = new_incident(engine, "later", now=datetime.now(UTC) + timedelta(hours=1))
    fill(engine, later.id, 3)
    tamper(
        engine,
        at(later, "DELETE FROM audit_event WHERE incident_id = :incident AND seq = 1"),
        at(incident, "UPDATE audit_event SET action = 'x' WHERE incident_id = :incident AND seq = 5"),
        at(incident, "UPDATE audit_event SET action = 'x' WHERE incident_id = :incident AND seq = 2"),
    )
    report = audit.verify(engine)
    assert [(p.incident_id, p.seq, p.kind) for p in report.problems] == [
        (incident.id, 2, "hash_mismatch"),
        (incident.id, 5, "hash_mismatch"),
        (later.id, 1, "gap"),
    ]
    assert kinds(audit.verify(engine, later.id)) == [(1, "gap")]


def test_semantically_equal_details_still_verify(engine: sa.Engine, incident: audit.Incident) -> None:
    """Another writer may store the same JSON spelled differently; the hash is over its canonical form."""
    respelled = '{"text": "We\'re sorry \\u2713", "nested": {"a": null, "b": [1, 2]}, "i": 2}'
    tamper(
        engine,
        at(incident, "UPDATE audit_event SET details = :d WHERE incident_id = :incident AND seq = 3", d=respelled),
    )
    assert audit.verify(engine).ok
    changed = respelled.replace('"i": 2', '"i": 3')
    tamper(
        engine, at(incident, "UPDATE audit_event SET details = :d WHERE incident_id = :incident AND seq = 3", d=changed)
    )
    assert kinds(audit.verify(engine)) == [(3, "hash_mismatch")]


def test_unknown_incident(engine: sa.Engine) -> None:
    with pytest.raises(audit.IncidentNotFound):
        audit.verify(engine, "2020-01-01-nothing")
