"""SQLModel tables of the audit trail: incidents (mutable) and events/checkpoints (append-only).

The schema itself is created by the Alembic migrations; these classes must stay in step with
them (tests compare the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel

CHANNELS = frozenset({"slack", "cli", "ui", "flow", "prefect-ui"})
STATUSES = frozenset({"open", "running", "waiting", "completed", "failed", "cancelled"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
# What an incident row is: a real crisis, a rehearsal (drill), or a standing ledger whose trail
# records routine work; reports and `runbook status` filter on it.
KINDS = frozenset({"incident", "drill", "ledger"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime:
    """`value` (naive means UTC) as an aware UTC datetime; now when None."""
    if value is None:
        return utcnow()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend.

    SQLite has no time zones and hands back naive values; the hash covers the exact instant,
    so values are normalised to UTC on the way in and made aware again on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: str = Field(default_factory=lambda: uuid4().hex, primary_key=True, max_length=32)
    slug: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(default="", max_length=300)
    playbook_id: str = Field(max_length=200)
    playbook_version: int
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requester: str = Field(max_length=200)
    severity: str | None = Field(default=None, max_length=50)
    status: str = Field(default="open", max_length=20, index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    kind: str = Field(default="incident", max_length=20, index=True, sa_column_kwargs={"server_default": "incident"})


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # Also the index behind "head of the chain" lookups and ordered verification.
    __table_args__ = (sa.UniqueConstraint("incident_id", "seq", name="uq_audit_event_incident_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", max_length=32)
    seq: int
    ts: datetime = Field(sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=200)
    channel: str = Field(max_length=20)
    action: str = Field(max_length=100)
    step: str | None = Field(default=None, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", max_length=32, index=True)
    seq: int
    hash: str = Field(max_length=64)
    ts: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    reason: str = Field(max_length=200)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a table model: the mapper's own `__table__` object, typed (SQLModel's
    stubs do not declare `__table__`)."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


INCIDENT_TABLE = table_of(Incident)
AUDIT_EVENT_TABLE = table_of(AuditEvent)
AUDIT_CHECKPOINT_TABLE = table_of(AuditCheckpoint)
