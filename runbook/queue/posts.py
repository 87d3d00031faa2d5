"""Scheduling, listing, reviewing and cancelling posts.

A new post is checked first: a `block` finding holds it as needs_review; a post whose account is
under an active freeze joins that freeze instead of becoming scheduled. The post row and its
APScheduler job are written in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.checks import Checker, Draft, media_refs
from runbook.checks.platforms import platform_names
from runbook.db import write_transaction
from runbook.queue import ledger
from runbook.queue.gate import add_to_freeze, covering_freeze, lock_queue
from runbook.queue.model import (
    FAILED,
    FROZEN,
    KILLED,
    NEEDS_REVIEW,
    SCHEDULED,
    STATUSES,
    Post,
    PostNotFound,
    QueueError,
)
from runbook.queue.tables import freezes, posts
from runbook.queue.times import utcnow

if TYPE_CHECKING:  # APScheduler loads only where jobs are written, not for a freeze
    from runbook.queue.jobs import JobBook

MAX_TEXT = 70_000
# A post may be scheduled this far in the past ("now" typed a moment ago); earlier is a mistake.
PAST_TOLERANCE = timedelta(seconds=60)
_Fallback = TypeVar("_Fallback", str, None)  # a ledger id, or None when there is none to fall back on


@dataclass(frozen=True)
class NewPost:
    """A post to schedule, as given (CLI, calendar row, API)."""

    account: str
    platform: str
    text: str
    run_at: datetime
    author: str
    media: tuple[str | dict[str, Any], ...] = ()
    language: str | None = None
    source: str | None = None  # "calendar.csv:12" for imported rows


def new_post_id() -> str:
    return uuid4().hex[:12]


def validate(post: NewPost, *, now: datetime) -> list[str]:
    """Problems with a new post (empty when it may be scheduled)."""
    problems = []
    if not post.account.strip():
        problems.append("account is empty")
    if post.platform not in platform_names():
        problems.append(f"platform must be one of {', '.join(platform_names())}, got {post.platform!r}")
    if not post.text.strip() and not post.media:
        problems.append("text is empty")
    if len(post.text) > MAX_TEXT:
        problems.append(f"text is {len(post.text)} characters, more than {MAX_TEXT}")
    if post.run_at.tzinfo is None:
        problems.append("time has no time zone")
    elif post.run_at < now - PAST_TOLERANCE:
        problems.append(f"time {post.run_at.isoformat()} is in the past")
    if not post.author.strip():
        problems.append("author is empty")
    if post.language is not None and post.language not in ("en", "nl"):
        problems.append(f"language must be en or nl, got {post.language!r}")
    return problems


# Keyword-only like propose_thaw and the other queue services: actor, channel and checker are always named.
def schedule_posts(
    engine: Engine,
    new_posts: list[NewPost],
    *,
    checker: Checker,
    jobs: JobBook,
    actor: str,
    channel: str,
    media_base: Path | None = None,
    now: datetime | None = None,
) -> list[Post]:
    """Check and schedule posts (all or nothing); raises QueueError listing every invalid one."""
    now = now or utcnow()
    problems = [
        f"{p.source or f'post {i + 1}'}: {msg}" for i, p in enumerate(new_posts) for msg in validate(p, now=now)
    ]
    if problems:
        raise QueueError("; ".join(problems))
    drafts: list[Post] = []
    for new in new_posts:
        media = media_refs(new.media, base=media_base)
        language = new.language or checker.policy.default_language
        result = checker.check(
            Draft(
                account=new.account,
                platform=new.platform,
                text=new.text,
                media=media,
                author=new.author,
                language=language,
            )
        )
        drafts.append(
            Post(
                id=new_post_id(),
                account=new.account,
                platform=new.platform,
                text=new.text,
                media=[m.to_dict() for m in media],
                language=language,
                author=new.author,
                run_at=new.run_at,
                status=NEEDS_REVIEW if result.blocked else SCHEDULED,
                freeze_id=None,
                findings=result.to_list(),
                reviewed_by=None,
                reviewed_rules=None,
                ref=None,
                error=None,
                source=new.source,
                attempts=0,
                created_at=now,
                updated_at=now,
                publishing_at=None,
                published_at=None,
            )
        )

    trail = ledger.target(engine, None)

    def work(connection: Connection) -> list[Post]:
        lock_queue(connection, exclusive=False)
        joined: dict[str, list[str]] = {}
        rows: list[Post] = []
        for draft in drafts:
            status = (
                NEEDS_REVIEW if draft.findings and any(f["severity"] == "block" for f in draft.findings) else SCHEDULED
            )
            freeze_id = None
            if status == SCHEDULED:
                freeze_id = covering_freeze(connection, draft.account)
                if freeze_id is not None:
                    status = FROZEN
                    joined.setdefault(freeze_id, []).append(draft.id)
            rows.append(replace(draft, status=status, freeze_id=freeze_id))
        connection.execute(posts.insert(), [asdict(row) for row in rows])
        for covering, ids in joined.items():
            add_to_freeze(connection, covering, ids)
        jobs.put(connection, [(r.id, r.run_at) for r in rows if r.status == SCHEDULED])
        for row in rows:  # audited in the same transaction as the rows they describe
            details = {
                "post": row.id,
                "account": row.account,
                "platform": row.platform,
                "run_at": row.run_at.isoformat(),
                "status": row.status,
                "source": row.source,
                "findings": [f"{f['severity']}:{f['rule']}" for f in row.findings],
            }
            ledger.record_in(
                connection, incident_id=trail, actor=actor, channel=channel, action="post.scheduled", details=details
            )
            frozen_trail = _freeze_trail(connection, trail, row.freeze_id) if row.status == FROZEN else trail
            # The incident of the freeze sees the post join it; a manual freeze's is the ledger, where
            # post.scheduled (status frozen) already says so: one change, one event.
            if frozen_trail != trail:
                ledger.record_in(
                    connection,
                    incident_id=frozen_trail,
                    actor=actor,
                    channel=channel,
                    action="post.frozen",
                    details={"post": row.id, "freeze": row.freeze_id, "why": "scheduled while the freeze is active"},
                )
        return rows

    written = write_transaction(engine, work)
    jobs.wakeup()
    return written


def schedule_post(engine: Engine, new: NewPost, **kwargs: Any) -> Post:
    return schedule_posts(engine, [new], **kwargs)[0]


def get_post(engine: Engine, post_id: str) -> Post:
    with engine.connect() as connection:
        row = connection.execute(sa.select(posts).where(posts.c.id == post_id)).first()
    if row is None:
        raise PostNotFound(post_id)
    return Post.from_row(row)


def list_posts(
    engine: Engine, *, status: str | None = None, account: str | None = None, limit: int | None = None
) -> list[Post]:
    query = sa.select(posts).order_by(posts.c.run_at, posts.c.id)
    if status is not None:
        if status not in STATUSES:
            raise QueueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        query = query.where(posts.c.status == status)
    if account is not None:
        query = query.where(posts.c.account == account)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [Post.from_row(r) for r in connection.execute(query)]


def count_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(posts.c.status, sa.func.count()).group_by(posts.c.status)).all()
    return {status: n for status, n in rows}


def cancel_post(engine: Engine, post_id: str, *, actor: str, channel: str, reason: str = "") -> Post:
    """Kill a post that has not gone out. Its job, if any, is left to fire and find it killed."""
    cancellable = (SCHEDULED, NEEDS_REVIEW, FROZEN, FAILED)
    trail = ledger.target(engine, None)

    def work(connection: Connection) -> None:
        row = connection.execute(sa.select(posts.c.status, posts.c.freeze_id).where(posts.c.id == post_id)).first()
        if row is None:
            raise PostNotFound(post_id)
        if row.status not in cancellable:
            raise QueueError(f"post {post_id} is {row.status}; only {', '.join(cancellable)} posts can be cancelled")
        connection.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.status == row.status)
            .values(status=KILLED, updated_at=utcnow())
        )
        details = {"post": post_id, "was": row.status, "reason": reason or "cancelled"}
        ledger.record_in(
            connection, incident_id=trail, actor=actor, channel=channel, action="post.killed", details=details
        )
        if row.status == FROZEN and row.freeze_id:
            incident = _freeze_trail(connection, None, row.freeze_id)
            if incident:
                ledger.record_in(
                    connection,
                    incident_id=incident,
                    actor=actor,
                    channel=channel,
                    action="post.killed",
                    details=details,
                )

    write_transaction(engine, work)
    return get_post(engine, post_id)


def approve_post(
    engine: Engine,
    post_id: str,
    *,
    reviewer: str,
    channel: str,
    jobs: JobBook,
    at: datetime | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Post:
    """The second person's sign-off on a held post: it is scheduled again (or joins an active freeze).

    The reviewer must not be the author. The block rules the reviewer saw are recorded and will not
    hold the post again at publish time; a new block finding will.
    """
    now = now or utcnow()
    trail = ledger.target(engine, None)

    def work(connection: Connection) -> None:
        lock_queue(connection, exclusive=False)
        row = connection.execute(sa.select(posts).where(posts.c.id == post_id)).first()
        if row is None:
            raise PostNotFound(post_id)
        if row.status != NEEDS_REVIEW:
            raise QueueError(f"post {post_id} is {row.status}, not needs_review")
        if reviewer == row.author:
            raise QueueError(f"{reviewer} wrote post {post_id}: a second person must review it")
        run_at = at or (row.run_at if row.run_at > now else now)
        accepted = sorted({f["rule"] for f in row.findings if f["severity"] == "block"})
        freeze_id = covering_freeze(connection, row.account)
        status = FROZEN if freeze_id else SCHEDULED
        connection.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.status == NEEDS_REVIEW)
            .values(
                status=status,
                freeze_id=freeze_id or row.freeze_id,
                run_at=run_at,
                reviewed_by=reviewer,
                reviewed_rules=accepted,
                updated_at=now,
            )
        )
        if freeze_id:
            add_to_freeze(connection, freeze_id, [post_id])
        else:
            jobs.put(connection, [(post_id, run_at)])
        details = {
            "post": post_id,
            "status": status,
            "run_at": run_at.isoformat(),
            "accepted_rules": accepted,
            "freeze": freeze_id,
            "comment": comment,
        }
        ledger.record_in(
            connection, incident_id=trail, actor=reviewer, channel=channel, action="post.reviewed", details=details
        )

    write_transaction(engine, work)
    jobs.wakeup()
    return get_post(engine, post_id)


def _freeze_trail(connection: Connection, fallback: _Fallback, freeze_id: str | None) -> str | _Fallback:
    """The incident of `freeze_id` (the ledger `fallback` for a freeze made outside any incident)."""
    if freeze_id is None:
        return fallback
    found = connection.execute(sa.select(freezes.c.incident_id).where(freezes.c.id == freeze_id)).scalar()
    return found or fallback
