"""The thaw of remote posts: proposed and decided like local ones (release / reschedule / kill,
each re-checked), then put back on their remote queue once. A decision is written (restoring)
before the remote call; a restore interrupted midway is finished by `finish_restores`, which
asks the queue whether the first call arrived before calling again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.checks import Checker, Draft, media_refs
from runbook.db import write_transaction
from runbook.ports.remote_queue import RemoteQueue, RemoteQueueError
from runbook.queue import ledger
from runbook.queue.gate import covering_freeze
from runbook.queue.model import PostRef, ThawItem, ThawPlan
from runbook.queue.remote import row_post
from runbook.queue.remote_tables import remote_holds
from runbook.queue.times import utcnow

__all__ = ["apply_items", "finish_restores", "is_remote", "item_of", "items_of", "propose_items"]

PREFIX = "rq-"
THAWABLE = ("held", "uncertain")  # off the remote queue and ours to decide
_THAWABLE = sa.or_(*(remote_holds.c.status == state for state in THAWABLE))  # (no IN in executemany)


def is_remote(post_id: str) -> bool:
    return post_id.startswith(PREFIX)


def item_of(row: Any) -> ThawItem:
    return ThawItem(
        post=PostRef(id=row.id, account=row.account, platform=row.platform, text=row.text),
        run_at=row.run_at,
        proposed=row.proposed,
        reason=row.reason or "",
        findings=list(row.findings or []),
        proposed_run_at=row.proposed_run_at,
        action=row.action,
        new_run_at=row.new_run_at,
        outcome=row.thaw_outcome,
    )


def items_of(engine: Engine, thaw_id: str) -> list[ThawItem]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(remote_holds)
            .where(remote_holds.c.thaw_id == thaw_id)
            .order_by(remote_holds.c.run_at, remote_holds.c.id)
        ).all()
    return [item_of(r) for r in rows]


def propose_items(
    engine: Engine,
    freeze_id: str,
    thaw_id: str,
    *,
    checker: Checker,
    now: datetime,
    reschedule_after: timedelta,
    spacing: timedelta,
    release_margin: timedelta,
) -> list[ThawItem]:
    """Propose an action for every held remote post of the freeze and store it on its row."""
    from runbook.queue.thaw import _slots, propose_action

    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(remote_holds)
            .where(remote_holds.c.freeze_id == freeze_id, remote_holds.c.status.in_(THAWABLE))
            .order_by(remote_holds.c.run_at, remote_holds.c.id)
        ).all()
    if not rows:
        return []
    overdue = [(r.id, r.account, r.run_at) for r in rows if r.run_at <= now + release_margin]
    slots = _slots(overdue, now + reschedule_after, spacing)
    updates = []
    for row in rows:
        media = [
            {"name": str(m.get("picture") or m.get("link") or m.get("url") or m), "path": None}
            if isinstance(m, dict) and not m.get("sha256")
            else m
            for m in row.media
        ]
        result = checker.check(
            Draft(
                account=row.account,
                platform=row.platform,
                text=row.text,
                media=media_refs([m for m in media if isinstance(m, dict) and m.get("sha256")]),
                author=None,
                language=checker.policy.default_language,
            ),
            context="thaw",
        )
        if row.status == "uncertain":
            proposed, reason = (
                "kill",
                (
                    f"taken off {row.queue} at its time {row.run_at:%H:%M:%S} UTC: it may have "
                    "gone out; check the account before releasing it"
                ),
            )
        else:
            proposed, reason = propose_action(
                result,
                accepted=(),
                run_at=row.run_at,
                rescheduled=row.id in slots,
                release_reason=(f"still relevant and due later: keeps its time (back on {row.queue})"),
            )
        updates.append(
            {
                "hid": row.id,
                "tid": thaw_id,
                "prop": proposed,
                "why": reason,
                "found": result.to_list(),
                "at": slots.get(row.id),
            }
        )
    # The proposal's columns, bound per row; apply_items writes the decision's columns the same way,
    # but other columns in another state, so the two updates stay apart.
    write_transaction(
        engine,
        lambda c: c.execute(
            remote_holds.update()
            .where(remote_holds.c.id == sa.bindparam("hid"), _THAWABLE)
            .values(
                thaw_id=sa.bindparam("tid"),
                proposed=sa.bindparam("prop"),
                reason=sa.bindparam("why"),
                findings=sa.bindparam("found"),
                proposed_run_at=sa.bindparam("at"),
                action=None,
                thaw_outcome=None,
                updated_at=now,
            ),
            updates,
        ),
    )
    return items_of(engine, thaw_id)


def apply_items(
    engine: Engine,
    plan: ThawPlan,
    queues: Iterable[RemoteQueue] | None,
    *,
    approver: str,
    channel: str,
    overrides: dict[str, tuple[str, datetime | None]],
    now: datetime,
    reschedule_after: timedelta,
    spacing: timedelta,
    release_margin: timedelta,
    step: str | None = None,
) -> None:
    """Decide every remote item of the plan (written first, as `restoring` or `killed`), then put
    the restored ones back on their queues."""
    from runbook.queue.thaw import _slots

    with engine.connect() as connection:  # most thaws have no remote posts: no write for them
        if (
            connection.execute(sa.select(remote_holds.c.id).where(remote_holds.c.thaw_id == plan.id).limit(1)).first()
            is None
        ):
            return

    def decide(connection: Connection) -> list[dict[str, Any]]:
        rows = connection.execute(
            sa.select(remote_holds).where(
                remote_holds.c.thaw_id == plan.id,
                remote_holds.c.status.in_(THAWABLE),
                remote_holds.c.thaw_outcome.is_(None),
            )
        ).all()
        decided, late = [], []
        for row in rows:
            action, at = overrides.get(row.id, (row.proposed, None))
            entry = {
                "hid": row.id,
                "action": action,
                "at": None,
                "status": "restoring",
                "out": None,
                "freeze": row.freeze_id,
                "row": row,
            }
            blocked = any(f["severity"] == "block" for f in row.findings or [])
            other = covering_freeze(connection, row.account, exclude=plan.freeze_id)
            if action == "kill":
                entry.update(status="killed", out="killed")
            elif blocked:  # a person must sign it; it stays held with us
                entry.update(status="held", out="held_for_review")
            elif other is not None:
                entry.update(status="held", out=f"held_by_freeze:{other}", freeze=other)
            elif action == "reschedule" and at is not None:
                entry["at"] = at
            elif action == "reschedule" and row.proposed_run_at and row.proposed_run_at > now:
                entry["at"] = row.proposed_run_at
            elif action == "release" and row.run_at > now + release_margin:
                entry["at"] = row.run_at
            else:
                late.append((row.id, row.account, row.run_at))
            decided.append(entry)
        slots = _slots(late, now + reschedule_after, spacing)
        for entry in decided:
            if entry["hid"] in slots:
                entry["at"], entry["action"] = slots[entry["hid"]], "reschedule"
        if decided:
            # The decision's columns, bound per row like propose_items' proposal columns: other columns, other state.
            connection.execute(
                remote_holds.update()
                .where(remote_holds.c.id == sa.bindparam("h"), _THAWABLE)
                .values(
                    status=sa.bindparam("s"),
                    action=sa.bindparam("a"),
                    new_run_at=sa.bindparam("t"),
                    thaw_outcome=sa.bindparam("o"),
                    freeze_id=sa.bindparam("f"),
                    updated_at=now,
                ),
                [
                    {"h": e["hid"], "s": e["status"], "a": e["action"], "t": e["at"], "o": e["out"], "f": e["freeze"]}
                    for e in decided
                ],
            )
        return decided

    decided = write_transaction(engine, decide)
    for entry in decided:
        if entry["status"] == "killed" or entry["out"]:
            details = {"hold": entry["hid"], "thaw": plan.id, "queue": entry["row"].queue, "outcome": entry["out"]}
            ledger.record(
                engine,
                incident_id=plan.incident_id,
                actor=approver,
                channel=channel,
                action="remote.killed" if entry["status"] == "killed" else "remote.held",
                details=details,
                step=step,
            )
    _restore(
        engine,
        list(queues or []),
        [e["hid"] for e in decided if e["status"] == "restoring"],
        incident_id=plan.incident_id,
        actor=approver,
        channel=channel,
        step=step,
        retry=False,
    )


def _restore(
    engine: Engine,
    queues: list[RemoteQueue],
    hold_ids: list[str],
    *,
    incident_id: str | None,
    actor: str,
    channel: str,
    step: str | None,
    retry: bool,
) -> list[str]:
    by_name = {q.name: q for q in queues}
    lines: list[str] = []
    if not hold_ids:
        return lines
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(remote_holds).where(remote_holds.c.id.in_(hold_ids), remote_holds.c.status == "restoring")
        ).all()
    for row in rows:
        queue = by_name.get(row.queue)
        if queue is None:
            _note(engine, row.id, f"queue {row.queue} is not configured: still to restore")
            lines.append(f"{row.id}: queue {row.queue} not configured; still to restore")
            continue
        post = row_post(row)
        try:
            found = queue.find_restored(post, run_at=row.new_run_at) if retry else None
            new_id, at = found or queue.restore(post, run_at=row.new_run_at, key=f"thaw:{row.id}")
        except RemoteQueueError as exc:
            _note(engine, row.id, str(exc))
            lines.append(f"{row.id}: restore failed, will retry: {exc}")
            continue
        outcome = "released" if row.action == "release" else "rescheduled"
        _mark_restored(engine, row.id, new_remote_id=new_id, new_run_at=at, outcome=outcome)
        ledger.record(
            engine,
            incident_id=incident_id,
            actor=actor,
            channel=channel,
            action=f"remote.{outcome}",
            step=step,
            details={
                "hold": row.id,
                "queue": row.queue,
                "remote_id": new_id,
                "run_at": at.isoformat(),
                "was": row.remote_id,
            },
        )
        lines.append(f"{row.id}: {outcome} on {row.queue} at {at.isoformat()}")
    return lines


def _mark_restored(engine: Engine, hold_id: str, *, new_remote_id: str, new_run_at: datetime, outcome: str) -> None:
    write_transaction(
        engine,
        lambda c: c.execute(
            remote_holds.update()
            .where(remote_holds.c.id == hold_id, remote_holds.c.status == "restoring")
            .values(
                status="restored",
                new_remote_id=new_remote_id,
                new_run_at=new_run_at,
                thaw_outcome=outcome,
                error=None,
                updated_at=utcnow(),
            )
        ),
    )


def _note(engine: Engine, hold_id: str, error: str) -> None:
    write_transaction(
        engine,
        lambda c: c.execute(
            remote_holds.update().where(remote_holds.c.id == hold_id).values(error=error, updated_at=utcnow())
        ),
    )


def finish_restores(engine: Engine, queues: Iterable[RemoteQueue], *, now: datetime | None = None) -> list[str]:
    """Finish restores decided but not confirmed (a crash, a failed call): each is looked up on its
    queue first, so a restore that arrived is not made twice."""
    from runbook.queue.freeze import get_freeze
    from runbook.queue.tables import thaws
    from runbook.queue.thaw import RELEASE_MARGIN, RESCHEDULE_AFTER, SPACING, get_thaw

    queues = list(queues)
    lines = []
    # Thaws applied locally whose remote half a crash cut off before it was decided.
    with engine.connect() as connection:
        cut = connection.execute(
            sa.select(thaws.c.id, thaws.c.approved_by, thaws.c.overrides).where(
                thaws.c.status == "applied",
                thaws.c.id.in_(
                    sa.select(remote_holds.c.thaw_id).where(
                        remote_holds.c.status.in_(THAWABLE), remote_holds.c.thaw_outcome.is_(None)
                    )
                ),
            )
        ).all()
    for thaw in cut:
        overrides = {k: (a, datetime.fromisoformat(t) if t else None) for k, (a, t) in (thaw.overrides or {}).items()}
        apply_items(
            engine,
            get_thaw(engine, thaw.id),
            queues,
            approver=thaw.approved_by or "system:recover",
            channel="cli",
            overrides=overrides,
            now=now or utcnow(),
            reschedule_after=RESCHEDULE_AFTER,
            spacing=SPACING,
            release_margin=RELEASE_MARGIN,
        )
        lines.append(f"thaw {thaw.id}: finished its remote posts")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(remote_holds.c.id, remote_holds.c.freeze_id).where(remote_holds.c.status == "restoring")
        ).all()
    for freeze_id in sorted({r.freeze_id for r in rows}):
        freeze = get_freeze(engine, freeze_id)
        lines += _restore(
            engine,
            queues,
            [r.id for r in rows if r.freeze_id == freeze_id],
            incident_id=freeze.incident_id,
            actor="system:recover",
            channel="cli",
            step=None,
            retry=True,
        )
    return lines
