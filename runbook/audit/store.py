"""Appending to and reading an incident's chain of audit events, and recording checkpoints.

Each append is one short write transaction that locks the incident, reads the head and inserts
the next link; nothing is cached between calls, so any number of processes may append.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import configure_mappers

from runbook.audit.chain import GENESIS_HASH, canonical_json, canonical_row, digest
from runbook.audit.errors import IncidentNotFound
from runbook.audit.models import (
    AUDIT_CHECKPOINT_TABLE,
    AUDIT_EVENT_TABLE,
    CHANNELS,
    INCIDENT_TABLE,
    AuditCheckpoint,
    AuditEvent,
    as_utc,
)
from runbook.db import inserted_id, write_transaction

# Events are built with model_construct (no ORM instance state). Reading a field of such an
# object goes through SQLAlchemy's instrumented attribute, which works only once the mappers are
# configured; a process that never ran an ORM query (a CLI command, a flow process) has not, so
# configure them here, once, at import.
configure_mappers()

_events = AUDIT_EVENT_TABLE
_checkpoints = AUDIT_CHECKPOINT_TABLE
_incidents = INCIDENT_TABLE

# Built once: SQLAlchemy's compiled cache then makes each append three cheap statements.
# FOR UPDATE serialises appenders on PostgreSQL (SQLite drops it: BEGIN IMMEDIATE already
# holds the database's single write lock); it also proves the incident exists.
_LOCK_INCIDENT = sa.select(_incidents.c.id).where(_incidents.c.id == sa.bindparam("incident_id")).with_for_update()
_HEAD = (
    sa.select(_events.c.seq, _events.c.hash)
    .where(_events.c.incident_id == sa.bindparam("incident_id"))
    .order_by(_events.c.seq.desc())
    .limit(1)
)


class _CanonicalText(sa.TypeDecorator[str]):
    """A JSON column's bind for text that is already canonical JSON: stored as given, so the hashed
    text is the stored text without serialising the details a second time."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> None:
        return None


# `details` is bound as its canonical text (see _CanonicalText); the other columns as they are.
_INSERT_EVENT = _events.insert().values(details=sa.bindparam("details_json", type_=_CanonicalText()))
_KIND = sa.text("SELECT kind FROM incident WHERE id = :incident_id")
# incident id -> kind: set at creation and never updated, so one look-up per incident and process.
_kinds: dict[str, str] = {}


# The columns of an event that its hash covers (with the details' canonical text).
class _Link(TypedDict):
    incident_id: str
    seq: int
    ts: datetime
    actor: str
    channel: str
    action: str
    step: str | None
    prev_hash: str


class _EventRow(_Link):
    hash: str
    details: dict[str, Any]


class _CheckpointRow(TypedDict):
    incident_id: str
    seq: int
    hash: str
    ts: datetime
    reason: str


def _require_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _lock_and_read_head(connection: Connection, incident_id: str) -> tuple[int, str]:
    """(seq, hash) of the incident's last event, (0, genesis) if none; the incident is locked."""
    params = {"incident_id": incident_id}
    sqlite = connection.dialect.name == "sqlite"
    # PostgreSQL: lock before reading the head. SQLite: the transaction already holds the
    # write lock, and an existing head proves the incident exists, so the look-up is only
    # needed for a first event.
    if not sqlite and connection.execute(_LOCK_INCIDENT, params).first() is None:
        raise IncidentNotFound(incident_id)
    head = connection.execute(_HEAD, params).first()
    if head is not None:
        return head.seq, head.hash
    if sqlite and connection.execute(_LOCK_INCIDENT, params).first() is None:
        raise IncidentNotFound(incident_id)
    return 0, GENESIS_HASH


def _prepare(actor: str, channel: str, action: str, step: str | None, details: dict[str, Any] | None) -> str:
    _require_text("actor", actor)
    _require_text("action", action)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {channel!r}")
    if step is not None and not isinstance(step, str):
        raise ValueError(f"step must be a string or None, got {step!r}")
    details = {} if details is None else details
    if not isinstance(details, dict):
        raise ValueError(f"details must be a dict, got {type(details).__name__}")
    return canonical_json(details)


def _kind(connection: Connection, incident_id: str) -> str | None:
    kind = _kinds.get(incident_id)
    if kind is None:
        kind = connection.execute(_KIND, {"incident_id": incident_id}).scalar()
        if kind is not None:
            _kinds[incident_id] = kind
    return kind


def _insert(
    connection: Connection,
    *,
    incident_id: str,
    actor: str,
    channel: str,
    action: str,
    step: str | None,
    details_json: str,
    ts: datetime,
    checkpoint: str | None = None,
) -> AuditEvent:
    last_seq, prev_hash = _lock_and_read_head(connection, incident_id)
    link = _Link(
        incident_id=incident_id,
        seq=last_seq + 1,
        ts=ts,
        actor=actor,
        channel=channel,
        action=action,
        step=step,
        prev_hash=prev_hash,
    )
    event_hash = digest(canonical_row(**link, details_json=details_json))
    # The details are serialised once (by _prepare): that text is hashed and stored as it is.
    result = connection.execute(_INSERT_EVENT, {**link, "hash": event_hash, "details_json": details_json})
    # The returned details are the JSON round trip of what was given.
    row = _EventRow(**link, hash=event_hash, details=json.loads(details_json))
    if checkpoint is None and _kind(connection, incident_id) == "ledger":
        # A standing ledger has no sign-offs to checkpoint at: every row is one, whoever wrote it.
        checkpoint = "ledger"
    if checkpoint is not None:
        connection.execute(
            _checkpoints.insert(),
            {"incident_id": incident_id, "seq": row["seq"], "hash": row["hash"], "ts": ts, "reason": checkpoint},
        )
    # model_construct: the row was checked on the way in, and a SQLModel table object built through
    # __init__ sets up ORM instance state (about a tenth of an append) that no caller uses.
    return AuditEvent.model_construct(id=inserted_id(result), **row)


# append and append_in keep the same keyword signature spelled out: it is the audit API callers read.
def append(
    engine: Engine,
    *,
    incident_id: str,
    actor: str,
    channel: str,
    action: str,
    step: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    checkpoint: str | None = None,
) -> AuditEvent:
    """Append one event to the incident's chain and return it with its seq and hash. With
    `checkpoint` (a reason), the new head is checkpointed in the same transaction: what the
    standing ledgers do at every row, since they have no sign-offs to checkpoint at."""
    # Bad arguments are refused before taking the write lock; the details are serialised once.
    details_json = _prepare(actor, channel, action, step, details)
    ts = as_utc(now)
    return write_transaction(
        engine,
        lambda connection: _insert(
            connection,
            incident_id=incident_id,
            actor=actor,
            channel=channel,
            action=action,
            step=step,
            details_json=details_json,
            ts=ts,
            checkpoint=checkpoint,
        ),
    )


def append_in(
    connection: Connection,
    *,
    incident_id: str,
    actor: str,
    channel: str,
    action: str,
    step: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    checkpoint: str | None = None,
) -> AuditEvent:
    """Append within the caller's write transaction: the event commits (or not) with the change it
    records, so no state change is ever left without its audit event (audit before effect)."""
    details_json = _prepare(actor, channel, action, step, details)
    return _insert(
        connection,
        incident_id=incident_id,
        actor=actor,
        channel=channel,
        action=action,
        step=step,
        details_json=details_json,
        ts=as_utc(now),
        checkpoint=checkpoint,
    )


def append_once(engine: Engine, *, once: tuple[str, Any], **event: Any) -> AuditEvent | None:
    """Append `event` (append's keywords) unless the incident already holds an event of the same
    action whose details[once[0]] equals once[1]; None when it does. A compare-and-set for work two
    processes may both find (two recovery sweeps and one crashed run): the check and the append
    share one write transaction that holds the incident's lock from the start."""
    key, value = once
    details_json = _prepare(event["actor"], event["channel"], event["action"], event.get("step"), event.get("details"))

    def work(connection: Connection) -> AuditEvent | None:
        _lock_and_read_head(connection, event["incident_id"])
        seen = connection.execute(
            sa.select(_events.c.details).where(
                _events.c.incident_id == event["incident_id"], _events.c.action == event["action"]
            )
        ).scalars()
        if any(isinstance(details, dict) and details.get(key) == value for details in seen):
            return None
        return _insert(
            connection,
            incident_id=event["incident_id"],
            actor=event["actor"],
            channel=event["channel"],
            action=event["action"],
            step=event.get("step"),
            details_json=details_json,
            ts=as_utc(event.get("now")),
            checkpoint=event.get("checkpoint"),
        )

    return write_transaction(engine, work)


def events(engine: Engine, incident_id: str) -> list[AuditEvent]:
    """The incident's events ordered by seq (empty if it has none or does not exist)."""
    query = sa.select(_events).where(_events.c.incident_id == incident_id).order_by(_events.c.seq)
    with engine.connect() as connection:
        # Rows read back are what was stored: no validation or ORM state needed (see _insert).
        return [AuditEvent.model_construct(**row._mapping) for row in connection.execute(query)]


def record_checkpoint(
    connection: Connection, incident_id: str, *, reason: str, now: datetime | None = None
) -> AuditCheckpoint | None:
    """Within the caller's write transaction: record the head hash; None if there are no events."""
    _require_text("reason", reason)
    last_seq, head_hash = _lock_and_read_head(connection, incident_id)
    if last_seq == 0:
        return None
    row = _CheckpointRow(incident_id=incident_id, seq=last_seq, hash=head_hash, ts=as_utc(now), reason=reason)
    result = connection.execute(_checkpoints.insert(), row)
    return AuditCheckpoint(id=inserted_id(result), **row)


def checkpoint(engine: Engine, incident_id: str, *, reason: str) -> AuditCheckpoint | None:
    """Record the current head (seq, hash) of the incident's chain, e.g. at a sign-off."""
    return write_transaction(engine, lambda connection: record_checkpoint(connection, incident_id, reason=reason))


def checkpoints(engine: Engine, incident_id: str) -> list[AuditCheckpoint]:
    """The incident's checkpoints in the order they were recorded."""
    query = sa.select(_checkpoints).where(_checkpoints.c.incident_id == incident_id).order_by(_checkpoints.c.id)
    with engine.connect() as connection:
        return [AuditCheckpoint(**row._mapping) for row in connection.execute(query)]
