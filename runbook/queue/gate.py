"""The queue's lock row and the question "is this account frozen right now?".

On PostgreSQL a freeze takes the lock row FOR UPDATE and every writer that makes a post
`scheduled` takes it FOR SHARE, so a post scheduled while a freeze commits is either frozen by
it or sees it. SQLite needs nothing: its write transactions (BEGIN IMMEDIATE) are serial.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runbook.queue.model import ALL
from runbook.queue.tables import freeze_posts, freezes, meta

_LOCK = sa.select(meta.c.key).where(meta.c.key == "lock")


def lock_queue(connection: Connection, *, exclusive: bool) -> None:
    connection.execute(_LOCK.with_for_update(read=not exclusive))


def in_scope(scope: list[str], account: str) -> bool:
    return ALL in scope or account in scope


def covering_freeze(connection: Connection, account: str, *, exclude: str | None = None) -> str | None:
    """The oldest active freeze whose scope covers `account` (call with the lock held)."""
    rows = connection.execute(
        sa.select(freezes.c.id, freezes.c.scope)
        .where(freezes.c.status == "active")
        .order_by(freezes.c.created_at, freezes.c.id)
    ).all()
    for row in rows:
        if row.id != exclude and in_scope(list(row.scope), account):
            return row.id
    return None


def add_to_freeze(connection: Connection, freeze_id: str, post_ids: list[str]) -> None:
    """Record posts that joined an active freeze after it was created (scheduled or released into it)."""
    if post_ids:
        connection.execute(freeze_posts.insert(), [{"freeze_id": freeze_id, "post_id": p} for p in post_ids])
        connection.execute(
            freezes.update().where(freezes.c.id == freeze_id).values(post_count=freezes.c.post_count + len(post_ids))
        )
