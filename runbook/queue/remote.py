"""The remote half of a freeze: list every remote queue in scope, record each post in full
(an intent row) before taking it off, take them off soonest first, and report the time to the
last remote post held next to the local freeze's commit time. `reconcile_remote` redoes an
interrupted pass (and sweeps posts added remotely since), so a crash loses nothing and leaves
nothing scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.db import write_transaction
from runbook.ports.remote_queue import RemotePost, RemoteQueue, RemoteQueueError
from runbook.queue import ledger
from runbook.queue.gate import in_scope
from runbook.queue.model import ALL, FreezeResult
from runbook.queue.remote_tables import remote_freezes, remote_holds
from runbook.queue.tables import freezes
from runbook.queue.times import utcnow

__all__ = [
    "RemoteFreezeResult",
    "freeze_everything",
    "freeze_remote",
    "hold_post",
    "queues_in_scope",
    "reconcile_remote",
    "remote_freeze_of",
]

WORKERS = 4  # concurrent hold calls; each queue's own limiter paces them under its rate limit
_BATCH = 200  # outcomes written per transaction


@dataclass(frozen=True)
class RemoteFreezeResult:
    freeze_id: str
    queues: list[str]
    held: int  # off the remote schedule now, stored in full
    published: list[str]  # sent by the remote scheduler before the freeze reached them (names)
    uncertain: list[str]  # taken off at their time, racing the remote scheduler: may be out (names)
    errors: list[str]  # one line per queue or post that could not be listed or held
    local_commit_ms: float | None
    last_held_ms: float | None  # from the freeze call to the last remote post held
    status: str  # held | partial
    last_held_at: datetime | None = None  # wall clock: from then on no remote post in scope is scheduled

    def summary(self) -> str:
        timing = (
            f"; last remote post held {self.last_held_ms:.0f} ms after the call"
            if self.last_held_ms is not None
            else ""
        )
        local = (
            f" (local freeze committed in {self.local_commit_ms:.1f} ms)" if self.local_commit_ms is not None else ""
        )
        lines = [
            f"remote queues {', '.join(self.queues) or '(none in scope)'}: {self.held} post(s) held{timing}{local}"
        ]
        if self.published:
            lines.append(
                f"already published by the remote scheduler ({len(self.published)}): " + "; ".join(self.published)
            )
        if self.uncertain:
            lines.append(
                f"taken off at their time, may have gone out ({len(self.uncertain)}; the thaw proposes "
                "kill): " + "; ".join(self.uncertain)
            )
        lines += [f"error: {e}" for e in self.errors]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "last_held_at": self.last_held_at.isoformat() if self.last_held_at else None}


@dataclass
class _Pass:
    errors: list[str] = field(default_factory=list)
    last_held: float | None = None
    last_held_at: datetime | None = None


def freeze_everything(
    engine: Engine, *, remote: Iterable[RemoteQueue] | None, step: str | None = None, **local: Any
) -> tuple[FreezeResult, RemoteFreezeResult | None]:
    """The local freeze (one transaction, `freeze_now`), then the remote queues in its scope. The
    remote lists are read while the local freeze commits, so the holds start right after it."""
    from runbook.queue.freeze import freeze_now, normalise_scope

    started = time.perf_counter()
    queues = queues_in_scope(list(remote or []), normalise_scope(local.get("accounts")))
    if not queues:
        return freeze_now(engine, step=step, **local), None
    with ThreadPoolExecutor(max_workers=min(8, len(queues))) as pool:
        lists = {q.name: pool.submit(_list, q) for q in queues}
        result = freeze_now(engine, step=step, **local)
        listed = {name: future.result() for name, future in lists.items()}
    return result, freeze_remote(engine, result, queues, started=started, step=step, listed=listed)


def _list(queue: RemoteQueue) -> list[RemotePost] | RemoteQueueError:
    try:
        return queue.scheduled()
    except RemoteQueueError as exc:
        return exc


def queues_in_scope(queues: Iterable[RemoteQueue], scope: Sequence[str]) -> list[RemoteQueue]:
    return [q for q in queues if ALL in scope or any(a in scope for a in q.accounts)]


def freeze_remote(
    engine: Engine,
    freeze: FreezeResult,
    queues: Iterable[RemoteQueue],
    *,
    started: float | None = None,
    step: str | None = None,
    workers: int = WORKERS,
    listed: dict[str, list[RemotePost] | RemoteQueueError] | None = None,
) -> RemoteFreezeResult:
    """Hold every post of the remote queues in the freeze's scope. Safe to call again for the same
    freeze (a rerun step, `runbook recover`): recorded posts are not recorded twice, and a post
    taken off earlier answers "absent", which still counts as held (we have its full copy).

    `listed`: lists read before the local commit; then a second look after the holds catches
    posts scheduled remotely between that read and the commit."""
    started = time.perf_counter() if started is None else started
    chosen = queues_in_scope(queues, freeze.scope)
    names = sorted(q.name for q in chosen)
    _open(engine, freeze, names)
    run = _Pass()
    by_name = {q.name: q for q in chosen}
    for prelisted in (True, False) if listed is not None else (False,):
        for queue in chosen:
            found = listed.get(queue.name) if prelisted and listed is not None else _list(queue)
            if found is None:
                found = _list(queue)
            if isinstance(found, RemoteQueueError):
                run.errors.append(f"{queue.name}: could not list its scheduled posts: {found}")
                continue
            _record_intents(engine, freeze.id, queue.name, [p for p in found if in_scope(freeze.scope, p.account)])
        _hold_intents(engine, freeze.id, by_name, run, started, workers)
    return _close(engine, freeze, names, run, started, step)


def _open(engine: Engine, freeze: FreezeResult, names: list[str]) -> None:
    def work(connection: Connection) -> None:
        if (
            connection.execute(
                sa.select(remote_freezes.c.freeze_id).where(remote_freezes.c.freeze_id == freeze.id)
            ).first()
            is None
        ):
            connection.execute(
                remote_freezes.insert().values(
                    freeze_id=freeze.id,
                    status="holding",
                    queues=names,
                    started_at=utcnow(),
                    local_commit_ms=freeze.commit_ms,
                    last_held_ms=None,
                    counts={},
                    errors=[],
                    updated_at=utcnow(),
                )
            )

    write_transaction(engine, work)


def _record_intents(engine: Engine, freeze_id: str, queue: str, listed: list[RemotePost]) -> None:
    """Store every listed post in full before anything is taken off (the crash-safe order)."""
    if not listed:
        return
    now = utcnow()

    def work(connection: Connection) -> None:
        known = set(
            connection.execute(
                sa.select(remote_holds.c.remote_id).where(
                    remote_holds.c.freeze_id == freeze_id, remote_holds.c.queue == queue
                )
            ).scalars()
        )
        rows = [
            {
                "id": f"rq-{uuid4().hex[:12]}",
                "freeze_id": freeze_id,
                "queue": queue,
                "remote_id": p.remote_id,
                "target": p.target,
                "account": p.account,
                "platform": p.platform,
                "text": p.text,
                "media": list(p.media),
                "run_at": p.run_at,
                "raw": p.raw,
                "status": "intent",
                "recorded_at": now,
                "updated_at": now,
            }
            for p in listed
            if p.remote_id not in known
        ]
        if rows:
            connection.execute(remote_holds.insert(), rows)

    write_transaction(engine, work)


def row_post(row: Any) -> RemotePost:
    # Named field by field: remote_hold has more columns than RemotePost, and media and raw are copied out.
    return RemotePost(
        remote_id=row.remote_id,
        target=row.target,
        account=row.account,
        platform=row.platform,
        text=row.text,
        run_at=row.run_at,
        media=list(row.media),
        raw=dict(row.raw),
    )


def hold_post(queue: RemoteQueue, row: Any) -> tuple[str, str | None]:
    """(outcome, error) for one recorded post."""
    try:
        return queue.hold(row_post(row)), None
    except RemoteQueueError as exc:
        return "error", str(exc)


def _hold_intents(
    engine: Engine, freeze_id: str, queues: dict[str, RemoteQueue], run: _Pass, started: float, workers: int
) -> None:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(remote_holds)
            .where(remote_holds.c.freeze_id == freeze_id, remote_holds.c.status == "intent")
            .order_by(remote_holds.c.run_at, remote_holds.c.id)
        ).all()
    pending: list[dict[str, Any]] = []
    for row in rows:
        if row.queue not in queues:
            run.errors.append(f"{row.queue}: not configured; {row.id} stays recorded but may still be scheduled there")
    rows = [r for r in rows if r.queue in queues]
    # Soonest first: the posts the remote scheduler would send next are taken off first.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(hold_post, queues[r.queue], r): r for r in rows}
        for future in as_completed(futures):
            row = futures[future]
            outcome, error = future.result()
            if error is not None:
                run.errors.append(f"{row.queue}: {row.id} ({row.account}: {row.text[:40]!r}): {error}")
                continue
            if outcome in ("held", "absent", "uncertain"):
                run.last_held, run.last_held_at = time.perf_counter(), utcnow()
            state = {"published": "published", "uncertain": "uncertain"}.get(outcome, "held")
            pending.append({"hid": row.id, "st": state, "out": outcome})
            if len(pending) >= _BATCH:
                _write_outcomes(engine, pending)
                pending = []
    _write_outcomes(engine, pending)


def _write_outcomes(engine: Engine, outcomes: list[dict[str, Any]]) -> None:
    if not outcomes:
        return
    now = utcnow()
    write_transaction(
        engine,
        lambda c: c.execute(
            remote_holds.update()
            .where(remote_holds.c.id == sa.bindparam("hid"), remote_holds.c.status == "intent")
            .values(status=sa.bindparam("st"), outcome=sa.bindparam("out"), held_at=now, updated_at=now),
            outcomes,
        ),
    )


def _close(
    engine: Engine, freeze: FreezeResult, names: list[str], run: _Pass, started: float, step: str | None
) -> RemoteFreezeResult:
    last_ms = round((run.last_held - started) * 1000, 3) if run.last_held is not None else None
    with engine.connect() as connection:
        counts: dict[str, int] = dict(
            connection.execute(
                sa.select(remote_holds.c.status, sa.func.count())
                .where(remote_holds.c.freeze_id == freeze.id)
                .group_by(remote_holds.c.status)
            ).all()
        )
        named = {
            state: [
                f'{r.id} ({r.account} via {r.queue}: "{r.text[:40]}")'
                for r in connection.execute(
                    sa.select(remote_holds)
                    .where(remote_holds.c.freeze_id == freeze.id, remote_holds.c.status == state)
                    .order_by(remote_holds.c.run_at)
                )
            ]
            for state in ("published", "uncertain")
        }
        stored = connection.execute(
            sa.select(remote_freezes.c.last_held_ms, remote_freezes.c.local_commit_ms).where(
                remote_freezes.c.freeze_id == freeze.id
            )
        ).one()  # written as the pass began
    status = "partial" if run.errors or counts.get("intent") else "held"
    last_ms = last_ms if last_ms is not None else stored.last_held_ms

    def work(connection: Connection) -> None:
        connection.execute(
            remote_freezes.update()
            .where(remote_freezes.c.freeze_id == freeze.id)
            .values(status=status, last_held_ms=last_ms, counts=counts, errors=run.errors, updated_at=utcnow())
        )

    write_transaction(engine, work)
    result = RemoteFreezeResult(
        freeze_id=freeze.id,
        queues=names,
        held=counts.get("held", 0),
        published=named["published"],
        uncertain=named["uncertain"],
        errors=run.errors,
        local_commit_ms=stored.local_commit_ms,
        last_held_ms=last_ms,
        status=status,
        last_held_at=run.last_held_at,
    )
    ledger.record(
        engine,
        incident_id=freeze.incident_id,
        actor=freeze.actor,
        channel=freeze.channel,
        action="freeze.remote",
        step=step,
        details={"freeze": freeze.id, **result.to_dict(), "counts": counts},
    )
    return result


def remote_freeze_of(engine: Engine, freeze_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(remote_freezes).where(remote_freezes.c.freeze_id == freeze_id)).first()
    return None if row is None else dict(row._mapping)


def reconcile_remote(engine: Engine, queues: Iterable[RemoteQueue], *, now: datetime | None = None) -> list[str]:
    """After a crash (or from `runbook recover`): finish every active freeze's remote pass (holds
    left as intents, posts added remotely since) and every restore the thaw decided but did not
    confirm. Returns one line per thing done or still wrong."""
    from runbook.queue.freeze import get_freeze
    from runbook.queue.remote_thaw import finish_restores

    queues = list(queues)
    lines: list[str] = []
    with engine.connect() as connection:
        active = list(
            connection.execute(
                sa.select(remote_freezes.c.freeze_id)
                .select_from(remote_freezes.join(freezes, freezes.c.id == remote_freezes.c.freeze_id))
                .where(freezes.c.status == "active")
            ).scalars()
        )
    for freeze_id in active:
        result = freeze_remote(engine, get_freeze(engine, freeze_id), queues)
        lines.append(f"freeze {freeze_id}: " + result.summary().replace("\n", "\n  "))
    lines += finish_restores(engine, queues, now=now)
    return lines
