"""`runbook recover` repairs audit events a crash lost under earlier versions (which committed a
freeze or a thaw before appending its events): each is appended once, marked repaired."""

from __future__ import annotations

import sqlalchemy as sa

from runbook import audit
from runbook.queue.repair import repair_audit
from runbook.queue.tables import freezes, thaws
from runbook.queue.times import utcnow


def _legacy_rows(engine, incident) -> None:  # noqa: ANN001
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            freezes.insert().values(
                id="aaaaaaaaaaaa",
                incident_id=incident.id,
                scope=["all"],
                actor="ana",
                channel="cli",
                reason="r",
                created_at=now,
                post_count=0,
                publishing=[],
                status="thawed",
                thawed_at=now,
                audit_seq=None,
            )
        )
        connection.execute(
            thaws.insert().values(
                id="bbbbbbbbbbbb",
                freeze_id="aaaaaaaaaaaa",
                status="applied",
                key=None,
                proposed_by="ana",
                proposed_at=now,
                approved_by="bram",
                applied_at=now,
                overrides={},
            )
        )


def test_lost_freeze_and_thaw_events_are_appended_once(engine, incident) -> None:  # noqa: ANN001
    _legacy_rows(engine, incident)
    assert repair_audit(engine) == [
        "freeze aaaaaaaaaaaa: freeze.created appended",
        "thaw bbbbbbbbbbbb: thaw.applied appended",
    ]
    assert repair_audit(engine) == []
    trail = audit.events(engine, incident.id)
    assert [(e.action, e.details.get("repaired")) for e in trail] == [("freeze.created", True), ("thaw.applied", True)]
    assert trail[1].actor == "bram"
    with engine.connect() as connection:
        assert connection.execute(sa.select(freezes.c.audit_seq)).scalar() == 1
    assert audit.verify(engine, incident.id).ok
