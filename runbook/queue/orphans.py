"""Freezes that must not be forgotten: every active freeze with its age, and those that outlived
their incident (it ended while the freeze still holds posts). Such a freeze is flagged, once
audited and posted to the incident's chat, and on every `runbook posts` command, until someone
thaws it or keeps it on purpose (`runbook freeze keep`, audited).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.audit.models import INCIDENT_TABLE, TERMINAL_STATUSES
from runbook.db import write_transaction
from runbook.queue import ledger
from runbook.queue.model import FROZEN, FreezeNotFound, QueueError
from runbook.queue.tables import freezes, posts
from runbook.queue.times import utcnow

__all__ = ["ActiveFreeze", "active_freezes", "flag_orphans", "keep_freeze", "orphaned_freezes"]

_incidents = INCIDENT_TABLE
log = logging.getLogger(__name__)


@dataclass
class ActiveFreeze:
    id: str
    incident_id: str | None
    incident: str | None  # its slug
    incident_status: str | None
    created_at: datetime
    age_seconds: int
    holding: int  # posts frozen by it right now
    scope: list[str]
    kept_by: str | None
    kept_reason: str | None

    @property
    def orphaned(self) -> bool:
        """Its incident ended and nobody decided to keep it."""
        return self.incident_status in TERMINAL_STATUSES and self.kept_by is None

    def age(self) -> str:
        minutes, _ = divmod(self.age_seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        return f"{days}d {hours}h" if days else f"{hours}h {minutes}m" if hours else f"{minutes}m"

    def warning(self) -> str:
        return (
            f"freeze {self.id} still holds {self.holding} post(s) ({self.age()} old) but incident "
            f"{self.incident} is {self.incident_status}: thaw it (`runbook thaw {self.id} --as PERSON`) or keep it "
            f"on purpose (`runbook freeze keep {self.id} --as PERSON --reason ...`)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat(), "orphaned": self.orphaned, "age": self.age()}


def active_freezes(engine: Engine, *, now: datetime | None = None) -> list[ActiveFreeze]:
    """Every active freeze, oldest first, with its incident's state and the posts it holds now."""
    now = now or utcnow()
    holding = (
        sa.select(sa.func.count()).where(posts.c.freeze_id == freezes.c.id, posts.c.status == FROZEN).scalar_subquery()
    )
    query = (
        sa.select(freezes, _incidents.c.slug, _incidents.c.status.label("incident_status"), holding.label("holding"))
        .select_from(freezes.outerjoin(_incidents, _incidents.c.id == freezes.c.incident_id))
        .where(freezes.c.status == "active")
        .order_by(freezes.c.created_at, freezes.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    # The freeze row with its incident and holding count, named field by field: ActiveFreeze adds the age.
    return [
        ActiveFreeze(
            id=r.id,
            incident_id=r.incident_id,
            incident=r.slug,
            incident_status=r.incident_status,
            created_at=r.created_at,
            age_seconds=max(0, int((now - r.created_at).total_seconds())),
            holding=r.holding,
            scope=list(r.scope),
            kept_by=r.kept_by,
            kept_reason=r.kept_reason,
        )
        for r in rows
    ]


def orphaned_freezes(engine: Engine, *, now: datetime | None = None) -> list[ActiveFreeze]:
    return [f for f in active_freezes(engine, now=now) if f.orphaned]


def keep_freeze(engine: Engine, freeze_id: str, *, actor: str, channel: str, reason: str) -> ActiveFreeze:
    """Keep an active freeze on purpose (it stops being flagged); audited with the change."""
    if not reason or not reason.strip():
        raise QueueError("keeping a freeze needs a --reason (it is recorded in the audit trail)")
    with engine.connect() as connection:
        row = connection.execute(sa.select(freezes.c.incident_id).where(freezes.c.id == freeze_id)).first()
    if row is None:
        raise FreezeNotFound(freeze_id)
    trail = ledger.target(engine, row.incident_id)
    now = utcnow()

    def work(connection: Connection) -> None:
        status = connection.execute(sa.select(freezes.c.status).where(freezes.c.id == freeze_id)).scalar()
        if status != "active":
            raise QueueError(f"freeze {freeze_id} is {status}: only an active freeze can be kept")
        connection.execute(
            freezes.update().where(freezes.c.id == freeze_id).values(kept_by=actor, kept_at=now, kept_reason=reason)
        )
        ledger.record_in(
            connection,
            incident_id=trail,
            actor=actor,
            channel=channel,
            action="freeze.kept",
            details={"freeze": freeze_id, "reason": reason},
        )

    write_transaction(engine, work)
    return next(f for f in active_freezes(engine) if f.id == freeze_id)


def flag_orphans(
    engine: Engine, *, chat_for: Callable[[str], Any] | None = None, actor: str = "system:post-queue"
) -> list[ActiveFreeze]:
    """Audit `freeze.orphaned` once per orphaned freeze (in the transaction that marks it flagged),
    then post the warning to its incident's chat. The post is keyed per freeze, so calling this
    on every sweep re-sends nothing and repairs a post lost to a crash after the audit."""
    found = orphaned_freezes(engine)
    for freeze in found:
        incident_id = freeze.incident_id
        if incident_id is None:  # orphaned means its incident ended, so it has one
            continue

        def work(connection: Connection, freeze: ActiveFreeze = freeze, incident_id: str = incident_id) -> None:
            marked = connection.execute(
                freezes.update()
                .where(freezes.c.id == freeze.id, freezes.c.flagged_at.is_(None), freezes.c.status == "active")
                .values(flagged_at=utcnow())
            ).rowcount
            if marked:
                ledger.record_in(
                    connection,
                    incident_id=incident_id,
                    actor=actor,
                    channel="flow",
                    action="freeze.orphaned",
                    details={
                        "freeze": freeze.id,
                        "incident_status": freeze.incident_status,
                        "holding": freeze.holding,
                        "age_seconds": freeze.age_seconds,
                    },
                )

        write_transaction(engine, work)
        if chat_for is not None:
            with engine.connect() as connection:
                channel = connection.execute(
                    sa.select(_incidents.c.channel).where(_incidents.c.id == incident_id)
                ).scalar()
            try:
                chat_for(incident_id).post(channel, "⚠️ " + freeze.warning(), key=f"freeze-orphaned:{freeze.id}")
            except Exception:  # noqa: BLE001 - audited already; the next sweep posts it again (same key)
                log.warning("could not post the orphaned-freeze warning of %s", freeze.id, exc_info=True)
    return found
