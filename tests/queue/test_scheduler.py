"""The scheduler's safety nets: a job APScheduler drops as missed holds its post for review, a
lost job is written again, a post left in `publishing` is settled from the channel's record."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from runbook import audit
from runbook.queue import get_post
from runbook.queue.ledger import ledger_incident
from runbook.queue.service import QueueScheduler
from runbook.queue.tables import posts as posts_table
from runbook.queue.times import utcnow
from runbook.sandbox import SandboxChannel
from tests.queue.conftest import make_posts, soon, wait_until


def test_a_job_missed_beyond_the_grace_holds_its_post(engine, checker, incident) -> None:  # noqa: ANN001
    from runbook.queue.jobs import JobBook

    book = JobBook(engine, grace_seconds=1)
    post = make_posts(engine, checker, book, count=1, at=soon(0.2))[0]
    book.close()
    time.sleep(1.6)  # the scheduler is "down" past the post's time and the grace
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2, grace_seconds=1)
    service.start()
    try:
        assert wait_until(lambda: get_post(engine, post.id).status == "needs_review", timeout=10)
    finally:
        service.shutdown()
    held = get_post(engine, post.id)
    assert held.findings[-1]["rule"] == "queue.overdue"
    assert SandboxChannel(engine).posts() == []
    assert "post.missed" in [e.action for e in audit.events(engine, ledger_incident(engine))]


def test_the_schedulers_grace_applies_to_jobs_written_with_another(engine, checker, incident) -> None:  # noqa: ANN001
    from runbook.queue.jobs import JobBook

    book = JobBook(engine, grace_seconds=300)  # what `runbook posts schedule` writes by default
    post = make_posts(engine, checker, book, count=1, at=soon(0.2))[0]
    book.close()
    time.sleep(1.6)
    service = QueueScheduler(
        engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2, grace_seconds=1
    )  # `scheduler --grace 1`
    service.start()
    try:
        assert wait_until(lambda: get_post(engine, post.id).status != "scheduled", timeout=10)
    finally:
        service.shutdown()
    assert get_post(engine, post.id).status == "needs_review"
    assert SandboxChannel(engine).posts() == []


def test_a_lost_job_is_written_again(engine, checker, jobs) -> None:  # noqa: ANN001
    post = make_posts(engine, checker, jobs, count=1, at=soon(0.5))[0]
    with engine.begin() as connection:  # as if a crash happened between submit and run
        connection.execute(sa.text("DELETE FROM apscheduler_jobs"))
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    report = service.start()
    try:
        assert report["jobs_restored"] == [post.id]
        assert wait_until(lambda: get_post(engine, post.id).status == "published", timeout=10)
    finally:
        service.shutdown()


def test_posts_left_publishing_are_settled_from_the_channel(engine, checker, jobs) -> None:  # noqa: ANN001
    reached, lost = make_posts(engine, checker, jobs, count=2, at=soon(3600))
    channel = SandboxChannel(engine)
    channel.publish(account="brand", platform="x", text=reached.text, key=reached.key)  # it got out, then a crash
    with engine.begin() as connection:
        connection.execute(
            posts_table.update()
            .where(posts_table.c.id.in_([reached.id, lost.id]))
            .values(status="publishing", publishing_at=utcnow() - timedelta(minutes=10))
        )
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    report = service.start()
    service.shutdown()
    assert report["recovered"] == {"published": [reached.id], "held": [lost.id]}
    assert get_post(engine, reached.id).status == "published"
    assert get_post(engine, lost.id).status == "needs_review"
    assert [r["key"] for r in channel.posts()] == [reached.key]  # nothing was sent twice


def test_a_held_post_needs_a_second_person(engine, checker, jobs) -> None:  # noqa: ANN001
    import pytest

    from runbook.queue import QueueError, approve_post

    post = make_posts(engine, checker, jobs, count=1, at=soon(0.8), text="Join the #WhyIStayed conversation {i}")[0]
    assert post.status == "needs_review" and post.findings[0]["rule"] == "hashtag.unreviewed"
    with pytest.raises(QueueError, match="second person"):
        approve_post(engine, post.id, reviewer="sam", channel="cli", jobs=jobs)
    approved = approve_post(engine, post.id, reviewer="noor", channel="cli", jobs=jobs, comment="checked the tag")
    assert approved.status == "scheduled" and approved.reviewed_rules == ["hashtag.unreviewed"]
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    service.start()
    try:
        assert wait_until(lambda: get_post(engine, post.id).status == "published", timeout=10)
    finally:
        service.shutdown()
    events = audit.events(engine, ledger_incident(engine))
    [review] = [e for e in events if e.action == "post.reviewed"]
    assert review.actor == "noor" and review.details["accepted_rules"] == ["hashtag.unreviewed"]
