"""The freeze: one transaction moves every in-scope `scheduled` post to `frozen` and records the
freeze with its exact post list. No APScheduler call is made: a frozen post's job still fires at
its time, loses the compare-and-set on the post's status, and ends (runbook.queue.fire).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook.db import write_transaction
from runbook.queue import ledger
from runbook.queue.gate import lock_queue
from runbook.queue.model import ALL, FROZEN, PUBLISHING, SCHEDULED, FreezeNotFound, FreezeResult, PostRef, QueueError
from runbook.queue.tables import freeze_posts, freezes, posts
from runbook.queue.times import utcnow

__all__ = ["freeze_now", "get_freeze", "list_freezes", "normalise_scope"]


def normalise_scope(accounts: Iterable[str] | str | None) -> list[str]:
    """["all"] or a sorted list of account handles; accepts a comma-separated string."""
    if accounts is None:
        return [ALL]
    if isinstance(accounts, str):
        accounts = accounts.split(",")
    names = sorted({a.strip().lstrip("@") for a in accounts if a and a.strip()})
    if not names or ALL in names:
        return [ALL]
    return names


def freeze_now(
    engine: Engine,
    *,
    incident_id: str | None,
    actor: str,
    channel: str,
    accounts: Iterable[str] | str | None = None,
    reason: str = "",
    step: str | None = None,
    now: datetime | None = None,
) -> FreezeResult:
    """Freeze every scheduled post in scope, now, in one transaction that also appends its
    freeze.created audit event (audit before effect: the freeze and its record commit together).

    Idempotent per incident: a second call for the same incident returns the first freeze
    (created=False) and only makes sure its audit event exists (freezes made before the audit
    moved into the transaction may lack it). A freeze of nothing is a real freeze: posts
    scheduled in its scope later join it. Posts in scope already held by another active freeze
    stay with that one; `held_elsewhere` counts them and they move here if that one thaws first.
    """
    started = time.perf_counter()
    if not actor or not actor.strip():
        raise QueueError("a freeze needs an actor (who froze the queue)")
    scope = normalise_scope(accounts)
    if incident_id is not None:
        existing = _by_incident(engine, incident_id)
        if existing is not None:
            return _ensure_audited(engine, existing, step=step)
    freeze_id = uuid4().hex[:12]
    created_at = now or utcnow()
    trail = ledger.target(engine, incident_id)

    def work(connection: Connection) -> list[dict[str, Any]] | str:
        lock_queue(connection, exclusive=True)
        if incident_id is not None:  # another process may have frozen for this incident meanwhile
            other = connection.execute(sa.select(freezes.c.id).where(freezes.c.incident_id == incident_id)).scalar()
            if other is not None:
                return other
        connection.execute(
            # Every queue_freeze column named: the post count, publishing list and audit seq are set below.
            freezes.insert().values(
                id=freeze_id,
                incident_id=incident_id,
                scope=scope,
                actor=actor,
                channel=channel,
                reason=reason or "",
                created_at=created_at,
                post_count=0,
                publishing=[],
                status="active",
                thawed_at=None,
                audit_seq=None,
            )
        )
        in_scope = posts.c.status == SCHEDULED
        if scope != [ALL]:
            in_scope = sa.and_(in_scope, posts.c.account.in_(scope))
        # The freeze itself: one statement. On PostgreSQL it waits for a firing post's row lock
        # and then re-reads its status, so a compare-and-set that committed first wins and the
        # post is reported as publishing below; one that comes later finds the post frozen.
        frozen = connection.execute(
            posts.update().where(in_scope).values(status=FROZEN, freeze_id=freeze_id, updated_at=created_at)
        ).rowcount
        connection.execute(
            freeze_posts.insert().from_select(
                ["freeze_id", "post_id"],
                sa.select(sa.literal(freeze_id), posts.c.id).where(
                    posts.c.freeze_id == freeze_id, posts.c.status == FROZEN
                ),
            )
        )
        busy = sa.select(posts.c.id, posts.c.account, posts.c.platform, posts.c.text).where(
            posts.c.status == PUBLISHING
        )
        if scope != [ALL]:
            busy = busy.where(posts.c.account.in_(scope))
        # FOR UPDATE holds these rows until we commit, so none of them can finish publishing in
        # between: the list is exactly what was publishing when the freeze committed.
        publishing = [dict(r._mapping) for r in connection.execute(busy.order_by(posts.c.id).with_for_update())]
        post_ids = sorted(
            connection.execute(sa.select(freeze_posts.c.post_id).where(freeze_posts.c.freeze_id == freeze_id)).scalars()
        )
        details = {
            "freeze": freeze_id,
            "scope": scope,
            "reason": reason or "",
            "frozen": frozen,
            "posts": post_ids,
            "publishing": publishing,
            "held_elsewhere": _held_elsewhere(connection, freeze_id, scope),
            "commit_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        # The shared ledger.record_in, called with its keywords: the freeze and freeze.created commit together.
        seq = ledger.record_in(
            connection,
            incident_id=trail,
            actor=actor,
            channel=channel,
            action="freeze.created",
            details=details,
            step=step,
        )
        connection.execute(
            freezes.update()
            .where(freezes.c.id == freeze_id)
            .values(post_count=frozen, publishing=publishing, audit_seq=seq)
        )
        return publishing

    try:
        outcome = write_transaction(engine, work)
    except IntegrityError:
        # PostgreSQL: a concurrent freeze for the same incident committed between our check
        # and our insert (the unique index on incident_id refused ours).
        winner = _by_incident(engine, incident_id) if incident_id is not None else None
        if winner is None:
            raise
        outcome = winner.id
    commit_ms = (time.perf_counter() - started) * 1000
    if isinstance(outcome, str):
        return _ensure_audited(engine, get_freeze(engine, outcome), step=step)
    result = get_freeze(engine, freeze_id)
    result = FreezeResult(**{**result.__dict__, "created": True, "commit_ms": round(commit_ms, 3)})
    return _ensure_audited(engine, result, step=step)


def _held_elsewhere(connection: Connection, freeze_id: str, scope: list[str]) -> dict[str, int]:
    """Posts in `scope` already frozen by other freezes, counted per freeze."""
    query = (
        sa.select(posts.c.freeze_id, sa.func.count())
        .where(posts.c.status == FROZEN, posts.c.freeze_id != freeze_id)
        .group_by(posts.c.freeze_id)
    )
    if scope != [ALL]:
        query = query.where(posts.c.account.in_(scope))
    return {row[0]: row[1] for row in connection.execute(query)}


def _ensure_audited(engine: Engine, result: FreezeResult, *, step: str | None) -> FreezeResult:
    """Append freeze.created if it is missing: freezes made by versions that audited after the
    commit may lack it; the next call for the freeze, or `runbook recover`, repairs that."""
    with engine.connect() as connection:
        seq = connection.execute(sa.select(freezes.c.audit_seq).where(freezes.c.id == result.id)).scalar()
    if seq is not None:
        return result
    details = {
        "freeze": result.id,
        "scope": result.scope,
        "reason": result.reason,
        "frozen": result.frozen,
        "posts": result.post_ids,
        "publishing": [p.to_dict() for p in result.publishing],
        "commit_ms": result.commit_ms,
    }
    seq = ledger.record(
        engine,
        incident_id=result.incident_id,
        actor=result.actor,
        channel=result.channel,
        action="freeze.created",
        details={**details, "repaired": True},
        step=step,
    )
    write_transaction(
        engine,
        lambda c: c.execute(
            freezes.update().where(freezes.c.id == result.id, freezes.c.audit_seq.is_(None)).values(audit_seq=seq)
        ),
    )
    return result


def _by_incident(engine: Engine, incident_id: str) -> FreezeResult | None:
    with engine.connect() as connection:
        freeze_id = connection.execute(sa.select(freezes.c.id).where(freezes.c.incident_id == incident_id)).scalar()
    return None if freeze_id is None else get_freeze(engine, freeze_id)


def get_freeze(engine: Engine, freeze_id: str) -> FreezeResult:
    with engine.connect() as connection:
        row = connection.execute(sa.select(freezes).where(freezes.c.id == freeze_id)).first()
        if row is None:
            raise FreezeNotFound(freeze_id)
        post_ids = list(
            connection.execute(
                sa.select(freeze_posts.c.post_id)
                .where(freeze_posts.c.freeze_id == freeze_id)
                .order_by(freeze_posts.c.post_id)
            ).scalars()
        )
        held = _held_elsewhere(connection, row.id, list(row.scope)) if row.status == "active" else {}
    # From the stored row: its posts and other freezes' holds come from other queries, and created=False
    # says the freeze was there already.
    return FreezeResult(
        id=row.id,
        incident_id=row.incident_id,
        scope=list(row.scope),
        post_ids=post_ids,
        publishing=[PostRef(**p) for p in row.publishing],
        actor=row.actor,
        channel=row.channel,
        reason=row.reason,
        created_at=row.created_at,
        status=row.status,
        created=False,
        held_elsewhere=held,
    )


def freeze_of_incident(engine: Engine, incident_id: str) -> FreezeResult | None:
    return _by_incident(engine, incident_id)


def list_freezes(engine: Engine, *, status: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(freezes).order_by(freezes.c.created_at)
    if status is not None:
        query = query.where(freezes.c.status == status)
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]
