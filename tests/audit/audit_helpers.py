"""Helpers for the audit tests: tampering as an attacker with database access, and the bodies
of spawned worker processes (importable by module name, as spawn requires)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runbook import audit
from runbook.audit import triggers
from runbook.audit.chain import canonical_json, canonical_row, digest
from runbook.db import init_db, make_engine


def tamper(engine: sa.Engine, *statements: tuple[str, dict[str, Any]]) -> None:
    """Drop the append-only triggers, run `statements`, put the triggers back."""
    with engine.begin() as connection:
        triggers.remove(connection)
        for sql, params in statements:
            connection.execute(sa.text(sql), params)
        triggers.install(connection)


def rehash(event: audit.AuditEvent, **changes: Any) -> str:
    """The hash `event` would have with `changes` applied (what a forger computes)."""
    details = changes.pop("details", event.details)
    fields = {
        name: getattr(event, name)
        for name in ("incident_id", "seq", "ts", "actor", "channel", "action", "step", "prev_hash")
    }
    return digest(canonical_row(**{**fields, **changes}, details_json=canonical_json(details)))


def new_incident(engine: sa.Engine, title: str = "Offensive reply sent from @brand", **extra: Any) -> audit.Incident:
    return audit.create_incident(
        engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={"handle": "@brand"},
        requester="U-alice",
        title=title,
        **extra,
    )


def fill(engine: sa.Engine, incident_id: str, n: int, *, start: int = 0) -> list[audit.AuditEvent]:
    return [
        audit.append(
            engine,
            incident_id=incident_id,
            actor="U-alice" if i % 2 else "system",
            channel="slack" if i % 2 else "flow",
            action="step.completed",
            step=f"step-{i}",
            details={"i": i, "text": "We're sorry ✓", "nested": {"b": [1, 2], "a": None}},
        )
        for i in range(start, start + n)
    ]


def append_many(url: str, incident_id: str, worker: int, n: int, barrier: Any) -> None:
    """Spawned: append `n` events as actor worker-N, all workers released at once."""
    engine = make_engine(url)
    barrier.wait(timeout=60)
    for i in range(n):
        audit.append(
            engine,
            incident_id=incident_id,
            actor=f"worker-{worker}",
            channel="flow",
            action="load.test",
            details={"i": i},
        )


def init_concurrently(url: str, barrier: Any) -> None:
    """Spawned: run init_db on a fresh database at the same moment as the other workers."""
    engine = make_engine(url)
    barrier.wait(timeout=60)
    init_db(engine)
