"""The reply tracking table, person by person: pending -> drafted -> approved -> sent, or skipped,
or failed (retried). Every change is one short transaction, so a crash at any point leaves each
person in a state the next run continues from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.messaging.audience import Person
from runbook.messaging.tables import STATUSES, batches, replies

CHUNK = 500


@dataclass(frozen=True)
class Scope:
    incident_id: str
    step_id: str

    def where(self) -> list[sa.ColumnElement[bool]]:
        return [replies.c.incident_id == self.incident_id, replies.c.step_id == self.step_id]


def known_people(engine: Engine, scope: Scope) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(replies.c.person).where(*scope.where())).scalars())


def add_people(engine: Engine, scope: Scope, people: Sequence[Person], *, key_prefix: str) -> list[Person]:
    """Insert the people not tracked yet (status pending); returns those added by this call."""
    for _ in range(3):
        have = known_people(engine, scope)
        new = [p for p in people if p.key not in have]
        if not new:
            return []
        now = as_utc(None)
        rows = [
            {
                "incident_id": scope.incident_id,
                "step_id": scope.step_id,
                "person": p.key,
                "platform": p.platform,
                "author": p.author,
                "account": p.account,
                "language": p.language,
                "to_ref": p.primary.ref,
                "mention_refs": [m.ref for m in p.mentions][:50],
                "mentioned_at": as_utc(p.first_at),
                "said": p.said,
                "concern": p.concern,
                "draft": None,
                "text": None,
                "status": "pending",
                "flags": {"group": p.groups[0], "groups": p.groups} if p.groups else {},
                "findings": [],
                "batch": None,
                "decided_by": None,
                "key": f"{key_prefix}{p.key}",
                "ref": None,
                "attempts": 0,
                "attempt_at": None,
                "sent_at": None,
                "audited": False,
                "error": None,
                "created_at": now,
                "updated_at": now,
            }
            for p in new
        ]

        def work(connection: Connection, rows=rows) -> None:
            for start in range(0, len(rows), CHUNK):
                connection.execute(replies.insert(), rows[start : start + CHUNK])

        try:
            write_transaction(engine, work)
            return new
        except IntegrityError:  # another run added some of them meanwhile: look again
            continue
    raise RuntimeError("could not add the people to answer: the table keeps changing under us")


def select(
    engine: Engine,
    scope: Scope,
    *,
    statuses: Iterable[str] | None = None,
    batch: int | None = None,
    unbatched: bool = False,
    limit: int | None = None,
) -> list[Any]:
    query = sa.select(replies).where(*scope.where())
    if statuses is not None:
        query = query.where(replies.c.status.in_(list(statuses)))
    if batch is not None:
        query = query.where(replies.c.batch == batch)
    if unbatched:
        query = query.where(replies.c.batch.is_(None))
    query = query.order_by(replies.c.mentioned_at, replies.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(query))


def update_rows(engine: Engine, changes: Sequence[dict[str, Any]], *, only_status: str | None = None) -> int:
    """Bulk update by id (each dict: `id` plus the columns to set); `only_status` guards each row."""
    if not changes:
        return 0
    columns = sorted({k for c in changes for k in c if k != "id"})
    statement = replies.update().where(replies.c.id == sa.bindparam("_id"))
    if only_status is not None:
        statement = statement.where(replies.c.status == only_status)
    statement = statement.values({c: sa.bindparam(f"_{c}") for c in columns} | {"updated_at": sa.bindparam("_now")})
    now = as_utc(None)
    params = [{"_id": c["id"], "_now": now, **{f"_{k}": c.get(k) for k in columns}} for c in changes]

    def work(connection: Connection) -> int:
        total = 0
        for start in range(0, len(params), CHUNK):
            total += connection.execute(statement, params[start : start + CHUNK]).rowcount or 0
        return total

    return write_transaction(engine, work)


def set_row(engine: Engine, row_id: int, **values: Any) -> None:
    values["updated_at"] = as_utc(None)
    write_transaction(engine, lambda c: c.execute(replies.update().where(replies.c.id == row_id).values(**values)))


def counts(engine: Engine, scope: Scope) -> dict[str, int]:
    with engine.connect() as connection:
        found: dict[str, int] = dict(
            connection.execute(
                sa.select(replies.c.status, sa.func.count()).where(*scope.where()).group_by(replies.c.status)
            )
            .tuples()
            .all()
        )
    return {s: int(found.get(s, 0)) for s in STATUSES}


# -- review batches ---------------------------------------------------------------------------
def open_batch(engine: Engine, scope: Scope) -> int | None:
    """The batch shown and not yet decided (a crash after presenting it shows it again)."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.max(batches.c.batch)).where(
                batches.c.incident_id == scope.incident_id,
                batches.c.step_id == scope.step_id,
                batches.c.decided_at.is_(None),
            )
        ).scalar()


def present(engine: Engine, scope: Scope, size: int) -> int | None:
    """Put the next `size` unreviewed drafts in a new batch; None when there are none."""

    def work(connection: Connection) -> int | None:
        last = (
            connection.execute(
                sa.select(sa.func.max(batches.c.batch)).where(
                    batches.c.incident_id == scope.incident_id, batches.c.step_id == scope.step_id
                )
            ).scalar()
            or 0
        )
        ids = list(
            connection.execute(
                sa.select(replies.c.id)
                .where(*scope.where(), replies.c.status == "drafted", replies.c.batch.is_(None))
                .order_by(replies.c.mentioned_at, replies.c.id)
                .limit(size)
            ).scalars()
        )
        if not ids:
            return None
        number = last + 1
        connection.execute(replies.update().where(replies.c.id.in_(ids)).values(batch=number))
        connection.execute(
            batches.insert().values(
                incident_id=scope.incident_id,
                step_id=scope.step_id,
                batch=number,
                size=len(ids),
                presented_at=as_utc(None),
            )
        )
        return number

    return write_transaction(engine, work)


def batch_decided(engine: Engine, scope: Scope, batch: int) -> bool:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(batches.c.decided_at).where(
                batches.c.incident_id == scope.incident_id, batches.c.step_id == scope.step_id, batches.c.batch == batch
            )
        ).first()
    return row is not None and row.decided_at is not None


def close_batch(
    engine: Engine, scope: Scope, batch: int, *, changes: Sequence[dict[str, Any]], by: str, summary: dict[str, Any]
) -> bool:
    """Apply an approver's per-reply changes and mark the batch decided, in ONE transaction:
    a rerun with the same decision finds the batch decided and changes nothing. True if applied."""
    now = as_utc(None)

    def work(connection: Connection) -> bool:
        marked = connection.execute(
            batches.update()
            .where(
                batches.c.incident_id == scope.incident_id,
                batches.c.step_id == scope.step_id,
                batches.c.batch == batch,
                batches.c.decided_at.is_(None),
            )
            .values(decided_at=now, decided_by=by, summary=summary)
        ).rowcount
        if not marked:
            return False
        for change in changes:
            values = {k: v for k, v in change.items() if k != "id"} | {"updated_at": now}
            connection.execute(
                replies.update()
                .where(replies.c.id == change["id"], replies.c.batch == batch, replies.c.status == "drafted")
                .values(**values)
            )
        return True

    return write_transaction(engine, work)


def send_history(engine: Engine, *, platform: str, account: str, count: int) -> list[float]:
    """Completion times of the latest sends from this account (any incident): seeds the limiter.
    A send whose outcome a crash hid counts at its attempt time."""
    moment = sa.func.coalesce(replies.c.sent_at, replies.c.attempt_at)
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(moment)
            .where(replies.c.platform == platform, replies.c.account == account, moment.is_not(None))
            .order_by(moment.desc())
            .limit(count)
        ).scalars()
        moments = [datetime.fromisoformat(t) if isinstance(t, str) else t for t in found]
    return [as_utc(t).timestamp() for t in moments if isinstance(t, datetime)]
