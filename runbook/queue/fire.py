"""What happens when a post's job fires: the database decides, not APScheduler's timing.

The post is checked, then moved `scheduled -> publishing` with a compare-and-set; only the
winner of that UPDATE publishes (under the post's idempotency key) and records `published`.
A frozen, killed or held post loses the compare-and-set and nothing happens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.checks import Checker
from runbook.db import write_transaction
from runbook.queue import ledger
from runbook.queue.model import FAILED, NEEDS_REVIEW, PUBLISHED, PUBLISHING, SCHEDULED, Post
from runbook.queue.tables import freezes, posts
from runbook.queue.times import utcnow

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a job needs in the scheduler process (jobs carry only the post id)."""

    engine: Engine
    channel: Any  # runbook.ports.channel.Channel
    checker: Checker
    actor: str = "system:scheduler"
    audit_channel: str = "flow"


_runtime: Runtime | None = None


def configure(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def fire_job(post_id: str) -> str:
    """The APScheduler job function (referenced by name in every stored job)."""
    if _runtime is None:
        raise RuntimeError(f"post {post_id} fired outside a configured scheduler process")
    rt = _runtime
    return fire_post(
        rt.engine, post_id, channel=rt.channel, checker=rt.checker, actor=rt.actor, audit_channel=rt.audit_channel
    )


def _cas(engine: Engine, post_id: str, before: str, after: str, *, audit: Audit | None = None, **values: Any) -> bool:
    """UPDATE ... WHERE id = :id AND status = :before; True if this call made the change. With
    `audit`, its event(s) commit in the same transaction, only when the change is made."""
    statement = (
        posts.update()
        .where(posts.c.id == post_id, posts.c.status == before)
        .values(status=after, updated_at=utcnow(), **values)
    )
    trail = ledger.target(engine, None) if audit is not None else None

    def work(connection: Connection) -> bool:
        if connection.execute(statement).rowcount != 1:
            return False
        if audit is not None and trail is not None:  # trail is resolved exactly when there is an audit
            _record_in(connection, trail, audit)
        return True

    return write_transaction(engine, work)


@dataclass(frozen=True)
class Audit:
    """The event a status change writes with it (to the ledger, and to the incident of the post's freeze)."""

    post: Post
    actor: str
    channel: str
    action: str
    details: dict[str, Any]


def _record_in(connection: Connection, trail: str, audit: Audit) -> None:
    def record(incident_id: str) -> None:
        ledger.record_in(
            connection,
            incident_id=incident_id,
            actor=audit.actor,
            channel=audit.channel,
            action=audit.action,
            details=audit.details,
        )

    record(trail)
    freeze_id = audit.post.freeze_id
    if freeze_id is not None:  # a post released by a thaw: its incident sees it go out too
        incident = connection.execute(sa.select(freezes.c.incident_id).where(freezes.c.id == freeze_id)).scalar()
        if incident is not None:
            record(incident)


def _load(engine: Engine, post_id: str) -> Post | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(posts).where(posts.c.id == post_id)).first()
    return None if row is None else Post.from_row(row)


def fire_post(
    engine: Engine,
    post_id: str,
    *,
    channel: Any,
    checker: Checker,
    actor: str = "system:scheduler",
    audit_channel: str = "flow",
) -> str:
    """Publish the post if it is still scheduled. Returns what happened:
    skipped:<status> | held | published | failed."""
    post = _load(engine, post_id)
    if post is None or post.status != SCHEDULED:
        return f"skipped:{post.status if post else 'missing'}"
    # Checks run before the compare-and-set: a slow link check must not leave the post in
    # `publishing`, where a freeze would have to report it instead of freezing it.
    result = checker.check(post.draft())
    accepted = set(post.reviewed_rules or [])
    new_blocks = [f for f in result.blocks if f.rule not in accepted]
    if new_blocks:
        held = Audit(
            post,
            actor,
            audit_channel,
            "post.held",
            {"post": post_id, "at": "publish", "findings": [f"{f.severity}:{f.rule}" for f in new_blocks]},
        )
        if _cas(engine, post_id, SCHEDULED, NEEDS_REVIEW, audit=held, findings=result.to_list()):
            return "held"
        return "skipped:changed"
    # `publishing` is the intent record of the external publish: audited before the network is
    # called, reconciled by recover_interrupted if this process dies before the outcome is known.
    intent = Audit(post, actor, audit_channel, "post.publishing", {"post": post_id, "key": post.key})
    if not _cas(
        engine, post_id, SCHEDULED, PUBLISHING, audit=intent, publishing_at=utcnow(), attempts=post.attempts + 1
    ):
        return "skipped:changed"  # frozen, killed or taken by another scheduler since we looked
    try:
        receipt = channel.publish(
            account=post.account, platform=post.platform, text=post.text, media=post.media, key=post.key
        )
    except Exception as exc:  # the network refused: record it, a person decides what next
        _cas(
            engine,
            post_id,
            PUBLISHING,
            FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            audit=Audit(post, actor, audit_channel, "post.failed", {"post": post_id, "error": str(exc)[:500]}),
        )
        log.warning("post %s failed to publish: %s", post_id, exc)
        return "failed"
    _cas(
        engine,
        post_id,
        PUBLISHING,
        PUBLISHED,
        ref=receipt.ref,
        published_at=utcnow(),
        audit=Audit(
            post,
            actor,
            audit_channel,
            "post.published",
            {
                "post": post_id,
                "ref": receipt.ref,
                "account": post.account,
                "platform": post.platform,
                "run_at": post.run_at.isoformat(),
                "new": receipt.created,
                "warnings": [f.rule for f in result.warnings],
            },
        ),
    )
    return "published"


def mark_missed(engine: Engine, post_id: str, *, run_time: datetime | None, actor: str, audit_channel: str) -> bool:
    """APScheduler dropped the job because its time passed beyond the misfire grace (the scheduler
    was down): hold the post for review instead of letting it vanish or go out late silently."""
    late = f"{(utcnow() - run_time).total_seconds():.0f} s" if run_time else "an unknown time"
    finding = {
        "rule": "queue.overdue",
        "family": "queue",
        "severity": "block",
        "match": "",
        "message": f"missed its time by {late} (scheduler down or busy): review before publishing",
    }
    post = _load(engine, post_id)
    if post is None:
        return False
    return _cas(
        engine,
        post_id,
        SCHEDULED,
        NEEDS_REVIEW,
        findings=[*post.findings, finding],
        audit=Audit(post, actor, audit_channel, "post.missed", {"post": post_id, "late": late}),
    )


def recover_interrupted(
    engine: Engine, *, channel: Any, stale_after: timedelta, actor: str, audit_channel: str
) -> dict[str, list[str]]:
    """Posts left in `publishing` by a crashed scheduler: the channel says whether the publish
    reached it (then `published`); otherwise the post is held for review, never re-sent blindly."""
    cutoff = utcnow() - stale_after
    with engine.connect() as connection:
        stuck = [
            Post.from_row(r)
            for r in connection.execute(
                sa.select(posts).where(posts.c.status == PUBLISHING, posts.c.publishing_at < cutoff)
            )
        ]
    done: dict[str, list[str]] = {"published": [], "held": []}
    for post in stuck:
        receipt = channel.find(post.key)
        if receipt is not None:
            if _cas(
                engine,
                post.id,
                PUBLISHING,
                PUBLISHED,
                ref=receipt.ref,
                published_at=receipt.at or utcnow(),
                audit=Audit(
                    post,
                    actor,
                    audit_channel,
                    "post.published",
                    {"post": post.id, "ref": receipt.ref, "recovered": True},
                ),
            ):
                done["published"].append(post.id)
            continue
        finding = {
            "rule": "queue.interrupted",
            "family": "queue",
            "severity": "block",
            "match": "",
            "message": "publishing was interrupted and did not reach the network: review before publishing",
        }
        if _cas(
            engine,
            post.id,
            PUBLISHING,
            NEEDS_REVIEW,
            findings=[*post.findings, finding],
            audit=Audit(post, actor, audit_channel, "post.held", {"post": post.id, "at": "recovery"}),
        ):
            done["held"].append(post.id)
    return done
