"""Reading one incident's audit trail for the post-mortem in a single streamed pass: every row is
checked by `runbook.audit.verify`'s own walk and handed, in seq order, to the report's folds.

Rows arrive in batches (`yield_per`: a server-side cursor on PostgreSQL, incremental fetches on
SQLite), so memory does not grow with the trail; a single SELECT is a consistent snapshot on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit import AuditEvent, Incident, IncidentNotFound, VerifyReport, get_incident, verify_apart
from runbook.audit.verify import IncidentWalk, load_checkpoints, stream

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
    # True: verified by a second process (see scan); False: that was tried and this process
    # verified instead; None: verified here, as usual.
    verified_apart: bool | None = None
    apart_peak_rss_mb: float = 0.0  # the second process's peak resident memory

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


# From this many rows, the chain is verified in a second process while this one folds the rows.
APART_FROM = 200_000


def scan(engine: Engine, ref: str, fold: Callable[[Event], None], *, apart_from: int | None = None) -> Scan:
    """Verify the incident's chain and hand every row to `fold`, in one streamed pass. Raises
    IncidentNotFound. When the chain fails, `fold` has seen rows that are not to be trusted: the
    caller throws its result away (see `events`).

    A trail of `apart_from` rows or more (default APART_FROM), on a machine with two cores or more
    and a database another process can open, is verified in a second process while this one folds
    it (see runbook.audit.verify_apart); the wall time is then the longer of the two, not the sum."""
    incident = incident_of(engine, ref)
    limit = APART_FROM if apart_from is None else apart_from
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for every statement of the transaction (READ COMMITTED takes one per
            # statement): the rows folded and a verification here must be the same rows.
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            return _scan_in(engine, connection, incident, fold, limit)


def _scan_in(
    engine: Engine, connection: sa.Connection, incident: Incident, fold: Callable[[Event], None], limit: int
) -> Scan:
    """The scan inside the caller's transaction; its first read fixes the snapshot."""
    head = connection.execute(sa.select(sa.func.max(_e.seq)).where(_e.incident_id == incident.id)).scalar()
    if head is not None and head >= limit and _apart_possible(engine):
        found = _scan_apart(engine, connection, incident, head, fold)
        if found is not None:
            return found
        # The second process failed or read other content: verify here, in this snapshot.
        return _scan_here(engine, connection, incident, lambda event: None, through=head, apart_tried=True)
    return _scan_here(engine, connection, incident, fold)


def _scan_here(
    engine: Engine,
    connection: sa.Connection,
    incident: Incident,
    fold: Callable[[Event], None],
    *,
    through: int | None = None,
    apart_tried: bool = False,
) -> Scan:
    # The audit package's own walk, so the report states exactly what `runbook audit verify` would.
    recorded = load_checkpoints(connection, incident.id).pop(incident.id, {})
    if through is not None:
        recorded = {seq: hashes for seq, hashes in recorded.items() if seq <= through}
    count = sum(len(hashes) for hashes in recorded.values())
    walk = IncidentWalk(incident.id, recorded)
    for batch in stream(connection, incident.id, through=through):
        walk.feed(batch)
        for event in map(_event, batch):
            fold(event)
    walk.finish()
    head = walk.last
    return Scan(
        incident=incident,
        verification=VerifyReport(ok=not walk.problems, checked=walk.checked, incidents=1, problems=walk.problems),
        checkpoints=count,
        engine=engine,
        head_seq=head[1] if head else None,
        head_hash=head[9] if head else None,
        verified_apart=False if apart_tried else None,
    )


def _scan_apart(
    engine: Engine, connection: sa.Connection, incident: Incident, head: int, fold: Callable[[Event], None]
) -> Scan | None:
    """Fold rows 1..head here while a second process verifies them; None when its verdict cannot
    stand for what was folded (it failed, or the content it read differs from this snapshot's)."""
    digest = verify_apart.ContentDigest()
    apart: verify_apart.Apart | None = None
    verdict: verify_apart.Verified | None = None
    try:
        for batch in stream(connection, incident.id, through=head, content_only=True):
            digest.add_content(batch)
            for event in map(_event, batch):
                fold(event)
            if apart is None:
                # Started once the first batch is folded: the snapshot here is fixed by then.
                apart = verify_apart.Apart(engine.url.render_as_string(hide_password=False), incident.id, head)
        if apart is not None:
            verdict = apart.result()
    except verify_apart.VerifyApartFailed:
        verdict = None  # verified here instead (see scan)
    finally:
        if apart is not None:
            apart.stop()
    if verdict is None or verdict.digest != digest.hexdigest():
        return None
    problems = verdict.problems
    return Scan(
        incident=incident,
        verification=VerifyReport(ok=not problems, checked=verdict.checked, incidents=1, problems=problems),
        checkpoints=verdict.checkpoints,
        engine=engine,
        head_seq=verdict.head_seq,
        head_hash=verdict.head_hash,
        verified_apart=True,
        apart_peak_rss_mb=verdict.peak_rss_mb,
    )


def _apart_possible(engine: Engine) -> bool:
    # A second process needs a second core and a database it can open: not SQLite in memory.
    database = engine.url.database or ""
    in_memory = engine.dialect.name == "sqlite" and database in ("", ":memory:") or "mode=memory" in database
    return (os.cpu_count() or 1) > 1 and not in_memory


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
