"""Freeze: exact scope, one transaction, idempotent per incident, and the race with 200 due posts."""

from __future__ import annotations

import time

import sqlalchemy as sa

from runbook import audit
from runbook.queue import cancel_post, freeze_now, get_freeze, list_posts
from runbook.queue.service import QueueScheduler
from runbook.queue.tables import posts as posts_table
from runbook.sandbox import SandboxChannel
from tests.queue.conftest import SlowChannel, make_posts, soon, wait_until


def _statuses(engine) -> dict[str, str]:  # noqa: ANN001
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(posts_table.c.id, posts_table.c.status)).all())


def test_freeze_moves_exactly_the_scheduled_posts_in_scope(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    brand = make_posts(engine, checker, jobs, count=5, at=soon(3600))
    other = make_posts(engine, checker, jobs, count=3, at=soon(3600), account="brand_nl")
    held = make_posts(engine, checker, jobs, count=1, at=soon(3600), text="Our thoughts and prayers {i}")[0]
    killed = cancel_post(engine, brand[0].id, actor="sam", channel="cli")
    assert held.status == "needs_review" and killed.status == "killed"

    result = freeze_now(
        engine, incident_id=incident.id, actor="ana", channel="cli", accounts=["@brand"], reason="Offensive reply"
    )

    assert result.created and result.scope == ["brand"]
    assert sorted(result.post_ids) == sorted(p.id for p in brand[1:])
    assert result.publishing == []
    statuses = _statuses(engine)
    assert {statuses[p.id] for p in brand[1:]} == {"frozen"}
    assert {statuses[p.id] for p in other} == {"scheduled"}
    assert statuses[held.id] == "needs_review" and statuses[killed.id] == "killed"
    stored = get_freeze(engine, result.id)
    assert stored.post_ids == sorted(result.post_ids) and stored.actor == "ana" and stored.reason == "Offensive reply"
    [event] = [e for e in audit.events(engine, incident.id) if e.action == "freeze.created"]
    assert event.actor == "ana" and sorted(event.details["posts"]) == sorted(result.post_ids)


def test_a_second_freeze_of_the_same_incident_returns_the_first(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    make_posts(engine, checker, jobs, count=3, at=soon(3600))
    first = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
    make_posts(engine, checker, jobs, count=2, at=soon(3600))  # join the active freeze
    second = freeze_now(engine, incident_id=incident.id, actor="ana", channel="flow")
    assert not second.created and second.id == first.id
    assert len(second.post_ids) == 5  # the list now includes the two posts that joined
    assert [e.action for e in audit.events(engine, incident.id)].count("freeze.created") == 1


def test_posts_scheduled_during_a_freeze_join_it(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli", accounts="brand")
    late = make_posts(engine, checker, jobs, count=2, at=soon(3600))
    elsewhere = make_posts(engine, checker, jobs, count=1, at=soon(3600), account="careers")
    assert {p.status for p in late} == {"frozen"} and {p.freeze_id for p in late} == {freeze.id}
    assert elsewhere[0].status == "scheduled"
    assert sorted(get_freeze(engine, freeze.id).post_ids) == sorted(p.id for p in late)
    assert any(e.action == "post.frozen" for e in audit.events(engine, incident.id))


def test_freeze_racing_200_due_posts(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    """200 posts due in the same second fire on 8 threads; the freeze lands mid-stream. No post whose
    compare-and-set lost is published; exactly those publishing at commit are reported."""
    posts = make_posts(engine, checker, jobs, count=200, at=soon(1.5))
    channel = SlowChannel(SandboxChannel(engine), delay=0.05)
    service = QueueScheduler(engine, channel=channel, checker=checker, workers=8, poll_seconds=0.2)
    service.start()
    try:
        assert channel.started_event.wait(15), "the posts never started firing"
        result = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
        freeze_returned = time.monotonic()
        assert wait_until(
            lambda: not list_posts(engine, status="scheduled") and not list_posts(engine, status="publishing"),
            timeout=30,
        )
    finally:
        service.shutdown()

    frozen, reported = set(result.post_ids), {p.id for p in result.publishing}
    published = {row["key"].removeprefix("post:") for row in SandboxChannel(engine).posts()}
    statuses = _statuses(engine)
    assert frozen and reported, f"the freeze did not land mid-stream ({len(frozen)} frozen, {len(reported)} publishing)"
    assert frozen.isdisjoint(published)  # the compare-and-set losers never reached the network
    assert {statuses[p] for p in frozen} == {"frozen"}
    assert frozen | published == {p.id for p in posts} and reported <= published
    assert reported.isdisjoint(frozen)
    for post_id in published - reported:  # published before the freeze committed
        assert channel.calls[f"post:{post_id}"][1] < freeze_returned
    assert all(p.label.startswith(p.id) and p.text for p in result.publishing)  # reported by name


def _jobs_left(engine) -> int:  # noqa: ANN001
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM apscheduler_jobs")).scalar()


def test_frozen_posts_jobs_fire_and_do_nothing(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    make_posts(engine, checker, jobs, count=5, at=soon(0.8))
    assert _jobs_left(engine) == 5
    freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")  # no job is touched
    assert _jobs_left(engine) == 5
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    service.start()
    try:
        # APScheduler deletes a date job when it submits it: all five fired.
        assert wait_until(lambda: _jobs_left(engine) == 0, timeout=10)
        time.sleep(0.3)
    finally:
        service.shutdown()
    assert SandboxChannel(engine).posts() == []
    assert set(_statuses(engine).values()) == {"frozen"}
