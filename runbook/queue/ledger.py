"""Where queue events go in the audit trail: the incident of the freeze they belong to, or the
post queue's standing ledger incident for routine work (scheduling, publishing) outside a crisis.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy.engine import Connection, Engine

from runbook import audit

LEDGER_PLAYBOOK = "post-queue"
SYSTEM_ACTOR = "system:post-queue"


def ledger_incident(engine: Engine) -> str:
    """The id of the ledger incident, created on first use (race-free: `audit.ledger`)."""
    return audit.ledger(engine, LEDGER_PLAYBOOK, title="Post queue ledger", actor=SYSTEM_ACTOR)


class Event(TypedDict):
    """What a queue event carries, whichever way it is appended (`record` or `record_in`)."""

    actor: str
    channel: str
    action: str
    details: dict[str, Any]
    step: NotRequired[str | None]


def record(engine: Engine, *, incident_id: str | None, **event: Unpack[Event]) -> int:
    """Append one event (to the ledger when `incident_id` is None); returns its sequence number.
    Same event as `record_in`, which appends inside the caller's transaction instead."""
    # A ledger row is checkpointed in the same transaction by runbook.audit (kind "ledger").
    return audit.append(engine, incident_id=target(engine, incident_id), **event).seq


def target(engine: Engine, incident_id: str | None) -> str:
    """The incident an event goes to; resolve it before a transaction that records in it."""
    return incident_id or ledger_incident(engine)


def record_in(connection: Connection, *, incident_id: str, **event: Unpack[Event]) -> int:
    """Append one event inside the caller's transaction (the change and its audit commit together)."""
    return audit.append_in(connection, incident_id=incident_id, **event).seq
