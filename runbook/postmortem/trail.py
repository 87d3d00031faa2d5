"""Reading one incident's audit trail for the post-mortem in a single streamed pass: every row is
checked by `runbook.audit.verify`'s own walk and handed, in seq order, to the report's folds.

Rows arrive in batches (`yield_per`: a server-side cursor on PostgreSQL, incremental fetches on
SQLite), so memory does not grow with the trail; a single SELECT is a consistent snapshot on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit import AuditEvent, Incident, IncidentNotFound, VerifyReport, get_incident

_loads: Callable[[str | bytes], Any]
try:  # Prefect's dependency; about twice as fast as json on large trails
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads


_fromisoformat = datetime.fromisoformat
_e = sa.inspect(AuditEvent).local_table.c
BATCH = 5_000  # rows per fetch: enough to amortise the round trip, small enough to stay flat in memory


# The audit row's columns again (runbook.audit.store's _Link), as the report's own light type rather
# than the SQLModel row: one is made per streamed row. Not frozen: a frozen dataclass sets each field
# through object.__setattr__. Nothing writes to an Event once made.
@dataclass(slots=True)
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
class Scan:
    """What one pass found: the incident, the verification of its chain and the head it covers."""

    incident: Incident
    verification: VerifyReport
    checkpoints: int
    engine: Engine  # where the rows the trail points at are looked up
    head_seq: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.verification.ok


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    # Naive means UTC (how SQLite stores it, see runbook.audit.models.UTCDateTime).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event(row: Sequence[Any]) -> Event:
    # Once per audit row: the common cases (SQLite's time text, JSON text) tested first.
    ts, details = row[2], row[7]
    # SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff', naive UTC: the C parser reads the offset appended.
    ts = _fromisoformat(ts + "+00:00") if type(ts) is str and len(ts) == 26 else _utc(ts)
    return Event(
        row[1], ts, row[3], row[4], row[5], row[6], _loads(details) if isinstance(details, (str, bytes)) else details
    )


def incident_of(engine: Engine, ref: str) -> Incident:
    incident = get_incident(engine, ref)
    if incident is None:
        raise IncidentNotFound(ref)
    return incident


def scan(engine: Engine, ref: str, fold: Callable[[Event], None]) -> Scan:
    """Verify the incident's chain and hand every row to `fold`, in one streamed pass. Raises
    IncidentNotFound. When the chain fails, `fold` has seen rows that are not to be trusted: the
    caller throws its result away (see `events`)."""
    # The audit package's own walk, so the report states exactly what `runbook audit verify` would.
    from runbook.audit.verify import IncidentWalk, load_checkpoints, stream

    incident = incident_of(engine, ref)
    with engine.connect() as connection, connection.begin():
        recorded = load_checkpoints(connection, incident.id).pop(incident.id, {})
        count = sum(len(hashes) for hashes in recorded.values())
        walk = IncidentWalk(incident.id, recorded)
        for batch in stream(connection, incident.id):
            walk.feed(batch)
            for event in map(_event, batch):
                fold(event)
        walk.finish()
    report = VerifyReport(ok=not walk.problems, checked=walk.checked, incidents=1, problems=walk.problems)
    head = walk.last
    return Scan(
        incident=incident,
        verification=report,
        checkpoints=count,
        engine=engine,
        head_seq=head[1] if head else None,
        head_hash=head[9] if head else None,
    )


def events(engine: Engine, incident_id: str) -> Iterator[Event]:
    """Every stored event of the incident in seq order, unverified, streamed (the untrusted report)."""
    query = (
        sa.select(_e.incident_id, _e.seq, _e.ts, _e.actor, _e.channel, _e.action, _e.step, _e.details)
        .where(_e.incident_id == incident_id)
        .order_by(_e.seq)
    )
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=BATCH).execute(query):
            yield _event(row)
