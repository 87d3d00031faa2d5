"""Reading one incident's audit trail for the post-mortem, only after `runbook.audit.verify` judged it.

Rows are read as slotted tuples, not SQLModel objects: a report over 100,000 events must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit import AuditCheckpoint, AuditEvent, Incident, IncidentNotFound, VerifyReport, checkpoints, get_incident
from runbook.audit import verify as verify_chain

try:  # Prefect's dependency; about twice as fast as json on large trails
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

_e = AuditEvent.__table__.c
# Read through the DBAPI cursor: at 100,000 events SQLAlchemy's Row objects and type processing
# cost more than the query. SQLite hands back text (parsed below with C parsers), PostgreSQL aware
# datetimes and parsed JSON; a single SELECT is a consistent snapshot on both.
_READ = ("SELECT seq, ts, actor, channel, action, step, details FROM audit_event "
         "WHERE incident_id = {p} AND seq <= {p} ORDER BY seq")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: datetime
    actor: str
    channel: str
    action: str
    step: str | None
    details: dict[str, Any]

    @property
    def human(self) -> bool:
        # The engine and the queue write as "system" or "system:<part>"; anything else is a person.
        return not (self.actor == "system" or self.actor.startswith("system:"))


@dataclass
class Trail:
    incident: Incident
    events: list[Event]
    verification: VerifyReport
    checkpoints: list[AuditCheckpoint]
    head_hash: str | None = None
    engine: Engine | None = None  # where the rows the trail points at are looked up

    @property
    def ok(self) -> bool:
        return self.verification.ok


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    # Naive means UTC (how SQLite stores it, see runbook.audit.models.UTCDateTime).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_events(engine: Engine, incident_id: str, *, upto: int | None = None) -> list[Event]:
    sql = _READ.format(p="?" if engine.dialect.paramstyle == "qmark" else "%s")
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, (incident_id, upto if upto is not None else 2**62))
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return [Event(seq, _utc(ts), actor, channel, action, step, _loads(details) if isinstance(details, str | bytes)
                  else details) for seq, ts, actor, channel, action, step, details in rows]


def load_trail(engine: Engine, ref: str) -> Trail:
    """Verify the incident's chain, then read it. Raises IncidentNotFound."""
    incident = get_incident(engine, ref)
    if incident is None:
        raise IncidentNotFound(ref)
    report = verify_chain(engine, incident.id)
    # A verified chain is contiguous from 1, so `checked` is its head: events appended after the
    # verification (a running incident) are left out rather than trusted unchecked.
    found = read_events(engine, incident.id, upto=report.checked if report.ok else None)
    head = None
    if found:
        with engine.connect() as connection:
            head = connection.execute(sa.select(_e.hash).where(
                _e.incident_id == incident.id, _e.seq == found[-1].seq)).scalar()
    return Trail(incident=incident, events=found, verification=report, checkpoints=checkpoints(engine, incident.id),
                 head_hash=head, engine=engine)
