"""The thaw: a reconciliation list first (release / reschedule / kill per frozen post, each post
re-checked), applied only after someone approves it, post by post.

Nothing is resumed in APScheduler: jobs of released and rescheduled posts are written again
(a resumed date job whose time passed would be dropped by APScheduler's misfire grace), and a
post whose time has passed is never released as is: it is rescheduled to a staggered slot.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.checks import Checker, CheckResult
from runbook.db import write_transaction
from runbook.queue import ledger, remote_thaw
from runbook.queue.freeze import get_freeze
from runbook.queue.gate import add_to_freeze, covering_freeze, lock_queue
from runbook.queue.model import (
    ACTIONS,
    FROZEN,
    KILLED,
    NEEDS_REVIEW,
    SCHEDULED,
    Post,
    PostRef,
    QueueError,
    ThawItem,
    ThawNotFound,
    ThawPlan,
)
from runbook.queue.tables import freezes, posts, thaw_items, thaws
from runbook.queue.times import parse_time, utcnow

if TYPE_CHECKING:  # APScheduler loads only where jobs are written, not for a freeze
    from runbook.ports.remote_queue import RemoteQueue
    from runbook.queue.jobs import JobBook

__all__ = ["apply_thaw", "get_thaw", "latest_thaw", "parse_actions", "propose_thaw"]

RESCHEDULE_AFTER = timedelta(minutes=30)  # first slot for overdue posts, after the thaw is applied
SPACING = timedelta(minutes=10)  # between rescheduled posts of one account: no burst of old posts
RELEASE_MARGIN = timedelta(minutes=1)  # a post due sooner than this is treated as overdue
_CHUNK = 500
_LINE = re.compile(r"^\s*(?P<id>[A-Za-z0-9_-]+)\s*[=:]\s*(?P<action>[a-z]+)\s*(?:@\s*(?P<at>\S+))?\s*$")


def propose_action(
    result: CheckResult, *, accepted: Iterable[str], run_at: datetime, rescheduled: bool, release_reason: str
) -> tuple[str, str]:
    """(action, reason) the thaw proposes for a held post, local or remote: kill what fails the
    checks (but the block rules a reviewer accepted) or sounds wrong in a crisis, reschedule what
    missed its time (`rescheduled`: it has a slot), release the rest."""
    blocks = sorted(result.rules("block") - set(accepted))
    tone = sorted({f.match for f in result.findings if f.family == "crisis_tone"})
    if blocks:
        return "kill", f"fails pre-publish checks: {', '.join(blocks)}"
    if tone:
        return "kill", f"cheerful or promotional during a crisis: {', '.join(tone)}"
    if rescheduled:
        return "reschedule", f"its time {run_at:%Y-%m-%d %H:%M} UTC passed during the freeze"
    return "release", release_reason


def _slots(items: list[tuple[str, str, datetime]], start: datetime, spacing: timedelta) -> dict[str, datetime]:
    """post id -> new time: per account, in the original order, `spacing` apart from `start`."""
    by_account: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for post_id, account, run_at in items:
        by_account[account].append((run_at, post_id))
    out = {}
    for entries in by_account.values():
        for n, (_, post_id) in enumerate(sorted(entries)):
            out[post_id] = start + n * spacing
    return out


def propose_thaw(
    engine: Engine,
    freeze_id: str,
    *,
    actor: str,
    channel: str,
    checker: Checker,
    key: str | None = None,
    step: str | None = None,
    now: datetime | None = None,
    reschedule_after: timedelta = RESCHEDULE_AFTER,
    spacing: timedelta = SPACING,
) -> ThawPlan:
    """Build and store the reconciliation list of the freeze's frozen posts (nothing changes yet).

    With `key`, a second call (a rerun step) returns the proposal made under that key.
    """
    now = now or utcnow()
    if key is not None:
        existing = _by_key(engine, key)
        if existing is not None:
            return existing
    freeze = get_freeze(engine, freeze_id)
    if freeze.status != "active":
        raise QueueError(f"freeze {freeze_id} is {freeze.status}: there is nothing to thaw")
    with engine.connect() as connection:
        frozen = [
            Post.from_row(r)
            for r in connection.execute(
                sa.select(posts)
                .where(posts.c.freeze_id == freeze_id, posts.c.status == FROZEN)
                .order_by(posts.c.run_at, posts.c.id)
            )
        ]
    overdue = [(p.id, p.account, p.run_at) for p in frozen if p.run_at <= now + RELEASE_MARGIN]
    slots = _slots(overdue, now + reschedule_after, spacing)
    items: list[ThawItem] = []
    for post in frozen:
        result = checker.check(post.draft(), context="thaw")
        proposed, reason = propose_action(
            result,
            accepted=post.reviewed_rules or [],
            run_at=post.run_at,
            rescheduled=post.id in slots,
            release_reason="still relevant and due later: keeps its time",
        )
        items.append(
            ThawItem(
                post=_ref(post),
                run_at=post.run_at,
                proposed=proposed,
                reason=reason,
                findings=result.to_list(),
                proposed_run_at=slots.get(post.id),
            )
        )
    thaw_id = uuid4().hex[:12]
    # Posts the freeze took off remote queues are proposed the same way (runbook.queue.remote_thaw),
    # before the local commit, so that one thaw.proposed event covers both; a crash in between
    # leaves remote rows pointing at a thaw that never existed, which the next proposal overwrites.
    items += remote_thaw.propose_items(
        engine,
        freeze_id,
        thaw_id,
        checker=checker,
        now=now,
        reschedule_after=reschedule_after,
        spacing=spacing,
        release_margin=RELEASE_MARGIN,
    )
    # The plan from the proposal just made; get_thaw builds a ThawPlan from the stored row instead.
    plan = ThawPlan(
        id=thaw_id,
        freeze_id=freeze_id,
        incident_id=freeze.incident_id,
        status="proposed",
        proposed_by=actor,
        proposed_at=now,
        items=items,
    )
    trail = ledger.target(engine, freeze.incident_id)

    def work(connection: Connection) -> None:
        connection.execute(
            thaws.update()
            .where(thaws.c.freeze_id == freeze_id, thaws.c.status == "proposed")
            .values(status="superseded")
        )
        connection.execute(
            # Every queue_thaw column named: a new proposal has no approval, application or overrides yet.
            thaws.insert().values(
                id=thaw_id,
                freeze_id=freeze_id,
                status="proposed",
                key=key,
                proposed_by=actor,
                proposed_at=now,
                approved_by=None,
                applied_at=None,
                overrides=None,
            )
        )
        rows = [
            {
                "thaw_id": thaw_id,
                "post_id": i.post.id,
                "proposed": i.proposed,
                "reason": i.reason,
                "findings": i.findings,
                "proposed_run_at": i.proposed_run_at,
                "action": None,
                "run_at": None,
                "outcome": None,
            }
            for i in items
            if not remote_thaw.is_remote(i.post.id)
        ]
        for start in range(0, len(rows), 5000):
            connection.execute(thaw_items.insert(), rows[start : start + 5000])
        ledger.record_in(
            connection,
            incident_id=trail,
            actor=actor,
            channel=channel,
            action="thaw.proposed",
            step=step,
            details={
                "thaw": thaw_id,
                "freeze": freeze_id,
                "counts": plan.counts(),
                "proposal": {i.post.id: i.proposed for i in items},
            },
        )

    write_transaction(engine, work)
    return plan


def parse_actions(text: str, *, now: datetime | None = None) -> dict[str, tuple[str, datetime | None]]:
    """The approver's overrides: lines `POST_ID=release|reschedule|kill`, a reschedule optionally
    `@TIME`; blank lines and `#` comments are ignored. Raises QueueError naming every bad line."""
    out: dict[str, tuple[str, datetime | None]] = {}
    problems = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match or match.group("action") not in ACTIONS:
            problems.append(f"line {number}: {line.strip()!r} is not POST_ID=release|reschedule|kill")
            continue
        at = None
        if match.group("at"):
            if match.group("action") != "reschedule":
                problems.append(f"line {number}: only a reschedule takes @TIME")
                continue
            try:
                at = parse_time(match.group("at"), now=now)
            except ValueError as exc:
                problems.append(f"line {number}: {exc}")
                continue
        out[match.group("id")] = (match.group("action"), at)
    if problems:
        raise QueueError("; ".join(problems))
    return out


def apply_thaw(
    engine: Engine,
    thaw_id: str,
    *,
    approver: str,
    channel: str,
    jobs: JobBook,
    overrides: dict[str, tuple[str, datetime | None]] | None = None,
    step: str | None = None,
    now: datetime | None = None,
    spacing: timedelta = SPACING,
    reschedule_after: timedelta = RESCHEDULE_AFTER,
    remote: Iterable[RemoteQueue] | None = None,
) -> ThawPlan:
    """Apply an approved reconciliation list. Idempotent: applying an applied thaw returns it.
    Remote posts in the plan are put back on the `remote` queues after the local commit."""
    now = now or utcnow()
    plan = get_thaw(engine, thaw_id)
    if plan.status == "applied":
        return plan
    if plan.status != "proposed":
        raise QueueError(f"thaw {thaw_id} is {plan.status}; apply the latest proposal of freeze {plan.freeze_id}")
    overrides = overrides or {}
    unknown = sorted(set(overrides) - {i.post.id for i in plan.items})
    if unknown:
        raise QueueError(f"not in thaw {thaw_id}: {', '.join(unknown)}")
    trail = ledger.target(engine, plan.incident_id)

    def work(connection: Connection) -> tuple[list[dict[str, Any]], list[str]]:
        lock_queue(connection, exclusive=True)
        status = connection.execute(sa.select(thaws.c.status).where(thaws.c.id == thaw_id)).scalar()
        if status != "proposed":
            raise QueueError(f"thaw {thaw_id} became {status} meanwhile")
        current = {
            r.id: r
            for r in connection.execute(
                sa.select(
                    posts.c.id,
                    posts.c.account,
                    posts.c.status,
                    posts.c.freeze_id,
                    posts.c.run_at,
                    posts.c.reviewed_rules,
                ).where(posts.c.freeze_id == plan.freeze_id, posts.c.status == FROZEN)
            )
        }
        decided: list[dict[str, Any]] = []
        late: list[tuple[str, str, datetime]] = []
        for item in [i for i in plan.items if not remote_thaw.is_remote(i.post.id)]:
            action, at = overrides.get(item.post.id, (item.proposed, None))
            row = current.get(item.post.id)
            entry: dict[str, Any] = {
                "post": item.post.id,
                "account": item.post.account,
                "action": action,
                "run_at": None,
                "outcome": None,
                "item": item,
            }
            if row is None:
                entry["outcome"] = "gone"  # cancelled or changed since the proposal
            elif action == "kill":
                entry["outcome"] = "killed"
            elif action == "reschedule" and at is not None:
                entry["run_at"] = at
            elif action == "reschedule" and item.proposed_run_at and item.proposed_run_at > now:
                entry["run_at"] = item.proposed_run_at
            elif row.run_at > now + RELEASE_MARGIN and action == "release":
                entry["run_at"] = row.run_at
            else:  # overdue now (maybe it was not at proposal time): never released as is
                late.append((item.post.id, item.post.account, row.run_at))
            decided.append(entry)
        slots = _slots(late, now + reschedule_after, spacing)
        for entry in decided:
            if entry["post"] in slots:
                entry["run_at"], entry["action"] = slots[entry["post"]], "reschedule"
        schedule: list[tuple[str, datetime]] = []
        for entry in decided:
            if entry["outcome"] is not None:
                continue
            item, row = entry["item"], current[entry["post"]]
            accepted = set(row.reviewed_rules or [])
            if any(f["severity"] == "block" and f["rule"] not in accepted for f in item.findings):
                entry["outcome"] = "held_for_review"
                continue
            other = covering_freeze(connection, row.account, exclude=plan.freeze_id)
            if other is not None:
                entry["outcome"], entry["other"] = f"held_by_freeze:{other}", other
                continue
            entry["outcome"] = "released" if entry["action"] == "release" else "rescheduled"
            schedule.append((entry["post"], entry["run_at"]))
        _write_outcomes(connection, plan, decided, now)
        jobs.put(connection, schedule)
        connection.execute(
            thaws.update()
            .where(thaws.c.id == thaw_id)
            .values(
                status="applied",
                approved_by=approver,
                applied_at=now,
                overrides={k: [a, t.isoformat() if t else None] for k, (a, t) in overrides.items()},
            )
        )
        remaining = list(
            connection.execute(
                sa.select(posts.c.id).where(posts.c.freeze_id == plan.freeze_id, posts.c.status == FROZEN)
            ).scalars()
        )
        if not remaining:
            connection.execute(
                freezes.update().where(freezes.c.id == plan.freeze_id).values(status="thawed", thawed_at=now)
            )
        # In the same transaction: a thaw is never applied without its audit events.
        _audit(connection, trail, plan, decided, remaining, approver=approver, channel=channel, step=step)
        return decided, remaining

    write_transaction(engine, work)
    jobs.wakeup()
    remote_thaw.apply_items(
        engine,
        plan,
        remote,
        approver=approver,
        channel=channel,
        overrides=overrides,
        now=now,
        reschedule_after=reschedule_after,
        spacing=spacing,
        release_margin=RELEASE_MARGIN,
        step=step,
    )
    return get_thaw(engine, thaw_id)


def _write_outcomes(connection: Connection, plan: ThawPlan, decided: list[dict[str, Any]], now: datetime) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in decided:
        groups[entry["outcome"].split(":")[0]].append(entry)
    guard = sa.and_(posts.c.freeze_id == plan.freeze_id, posts.c.status == FROZEN)
    killed = [e["post"] for e in groups["killed"]]
    for start in range(0, len(killed), _CHUNK):
        connection.execute(
            posts.update()
            .where(guard, posts.c.id.in_(killed[start : start + _CHUNK]))
            .values(status=KILLED, updated_at=now)
        )
    for entry in groups["held_for_review"]:
        connection.execute(
            posts.update()
            .where(guard, posts.c.id == entry["post"])
            .values(status=NEEDS_REVIEW, run_at=entry["run_at"], findings=entry["item"].findings, updated_at=now)
        )
    for entry in groups["held_by_freeze"]:
        connection.execute(
            posts.update()
            .where(guard, posts.c.id == entry["post"])
            .values(freeze_id=entry["other"], run_at=entry["run_at"], updated_at=now)
        )
        add_to_freeze(connection, entry["other"], [entry["post"]])
    released = [{"pid": e["post"], "new_run_at": e["run_at"]} for e in groups["released"] + groups["rescheduled"]]
    if released:
        connection.execute(
            posts.update()
            .where(guard, posts.c.id == sa.bindparam("pid"))
            .values(status=SCHEDULED, run_at=sa.bindparam("new_run_at"), updated_at=now),
            released,
        )
    if not decided:  # a thaw of nothing (an empty freeze): an executemany of no rows is an error
        return
    connection.execute(
        thaw_items.update()
        .where(thaw_items.c.thaw_id == plan.id, thaw_items.c.post_id == sa.bindparam("pid"))
        .values(action=sa.bindparam("act"), run_at=sa.bindparam("at"), outcome=sa.bindparam("out")),
        [{"pid": e["post"], "act": e["action"], "at": e["run_at"], "out": e["outcome"]} for e in decided],
    )


def _audit(
    connection: Connection,
    trail: str,
    plan: ThawPlan,
    decided: list[dict[str, Any]],
    remaining: list[str],
    *,
    approver: str,
    channel: str,
    step: str | None,
) -> None:
    actions = {
        "released": "post.released",
        "rescheduled": "post.rescheduled",
        "killed": "post.killed",
        "held_for_review": "post.held",
        "held_by_freeze": "post.frozen",
    }
    for entry in decided:
        action = actions.get(entry["outcome"].split(":")[0])
        if action is None:
            continue
        details = {
            "post": entry["post"],
            "thaw": plan.id,
            "freeze": plan.freeze_id,
            "action": entry["action"],
            "proposed": entry["item"].proposed,
            "outcome": entry["outcome"],
            "run_at": entry["run_at"].isoformat() if entry["run_at"] else None,
        }
        ledger.record_in(
            connection, incident_id=trail, actor=approver, channel=channel, action=action, details=details, step=step
        )
    counts: dict[str, int] = defaultdict(int)
    for entry in decided:
        counts[entry["outcome"].split(":")[0]] += 1
    ledger.record_in(
        connection,
        incident_id=trail,
        actor=approver,
        channel=channel,
        action="thaw.applied",
        step=step,
        details={
            "thaw": plan.id,
            "freeze": plan.freeze_id,
            "outcomes": dict(counts),
            "changed_from_proposal": sorted(e["post"] for e in decided if e["action"] != e["item"].proposed),
            "still_frozen": remaining,
        },
    )


def _ref(post: Post) -> PostRef:
    return PostRef(id=post.id, account=post.account, platform=post.platform, text=post.text)


def get_thaw(engine: Engine, thaw_id: str) -> ThawPlan:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(thaws, freezes.c.incident_id)
            .select_from(thaws.join(freezes, freezes.c.id == thaws.c.freeze_id))
            .where(thaws.c.id == thaw_id)
        ).first()
        if row is None:
            raise ThawNotFound(thaw_id)
        items = connection.execute(
            sa.select(thaw_items, posts.c.account, posts.c.platform, posts.c.text, posts.c.run_at.label("post_run_at"))
            .select_from(thaw_items.join(posts, posts.c.id == thaw_items.c.post_id))
            .where(thaw_items.c.thaw_id == thaw_id)
            .order_by(posts.c.run_at, posts.c.id)
        ).all()
        remaining = (
            []
            if row.status != "applied"
            else list(
                connection.execute(
                    sa.select(posts.c.id).where(posts.c.freeze_id == row.freeze_id, posts.c.status == FROZEN)
                ).scalars()
            )
        )
    # Stored items joined with their posts; remote_thaw.items_of builds the same ThawItem from remote_hold rows.
    out = [
        ThawItem(
            post=PostRef(id=i.post_id, account=i.account, platform=i.platform, text=i.text),
            run_at=i.post_run_at,
            proposed=i.proposed,
            reason=i.reason,
            findings=list(i.findings),
            proposed_run_at=i.proposed_run_at,
            action=i.action,
            new_run_at=i.run_at,
            outcome=i.outcome,
        )
        for i in items
    ]
    out += remote_thaw.items_of(engine, thaw_id)
    # Named field by field: the row also holds key and overrides, which ThawPlan does not carry.
    return ThawPlan(
        id=row.id,
        freeze_id=row.freeze_id,
        incident_id=row.incident_id,
        status=row.status,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        items=out,
        approved_by=row.approved_by,
        applied_at=row.applied_at,
        remaining=remaining,
    )


def latest_thaw(engine: Engine, freeze_id: str) -> ThawPlan | None:
    with engine.connect() as connection:
        thaw_id = connection.execute(
            sa.select(thaws.c.id).where(thaws.c.freeze_id == freeze_id).order_by(thaws.c.proposed_at.desc()).limit(1)
        ).scalar()
    return None if thaw_id is None else get_thaw(engine, thaw_id)


def _by_key(engine: Engine, key: str) -> ThawPlan | None:
    with engine.connect() as connection:
        thaw_id = connection.execute(sa.select(thaws.c.id).where(thaws.c.key == key)).scalar()
    return None if thaw_id is None else get_thaw(engine, thaw_id)
