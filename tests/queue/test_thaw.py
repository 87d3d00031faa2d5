"""Thaw: a reconciliation list first, nothing published until it is approved, overdue posts
rescheduled (their jobs written again, not resumed), killed posts never published, all audited."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from runbook import audit
from runbook.queue import (
    QueueError,
    apply_thaw,
    cancel_post,
    freeze_now,
    get_freeze,
    get_post,
    list_posts,
    parse_actions,
    propose_thaw,
)
from runbook.queue.service import QueueScheduler
from runbook.queue.times import utcnow
from runbook.sandbox import SandboxChannel
from tests.queue.conftest import make_posts, soon, wait_until


def _sent(engine) -> set[str]:  # noqa: ANN001
    return {row["key"].removeprefix("post:") for row in SandboxChannel(engine).posts()}


def _job_ids(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars())


def test_thaw_with_overdue_posts_reschedules_them_and_publishes_nothing_until_approved(
    engine, checker, jobs, incident
) -> None:  # noqa: ANN001
    overdue = make_posts(engine, checker, jobs, count=4, at=soon(0.6))
    future = make_posts(engine, checker, jobs, count=2, at=soon(3600), text="Our new store opens {i}")
    cheerful = make_posts(engine, checker, jobs, count=1, at=soon(3600), text="Big sale! 50% off everything {i}")[0]
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    service.start()
    try:
        time.sleep(1.2)  # the overdue posts' jobs fire during the freeze and are consumed
        assert not ({p.id for p in overdue} & _job_ids(engine))
        plan = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
        proposed = {i.post.id: i.proposed for i in plan.items}
        assert {proposed[p.id] for p in overdue} == {"reschedule"}
        assert {proposed[p.id] for p in future} == {"release"}
        assert proposed[cheerful.id] == "kill"
        slots = sorted(i.proposed_run_at for i in plan.items if i.proposed == "reschedule")
        # Staggered from 30 minutes after the proposal, 10 minutes apart: no burst of old posts.
        assert slots[0] > utcnow() + timedelta(minutes=29)
        assert {b - a for a, b in zip(slots, slots[1:], strict=False)} == {timedelta(minutes=10)}
        # Proposed again with short slots, so the test sees them go out; then wait past them.
        plan = propose_thaw(
            engine,
            freeze.id,
            actor="ana",
            channel="cli",
            checker=checker,
            reschedule_after=timedelta(seconds=0.3),
            spacing=timedelta(milliseconds=200),
        )
        time.sleep(1.2)
        assert _sent(engine) == set() and {p.status for p in list_posts(engine)} == {"frozen"}  # not before approval

        # The approver kills one overdue post and releases the cheerful one after all.
        overrides = parse_actions(f"{overdue[0].id}=kill\n{cheerful.id}=release\n")
        applied = apply_thaw(
            engine,
            plan.id,
            approver="bram",
            channel="cli",
            jobs=service.jobs,
            overrides=overrides,
            reschedule_after=timedelta(seconds=0.5),
            spacing=timedelta(milliseconds=200),
        )
        outcomes = {i.post.id: i.outcome for i in applied.items}
        assert outcomes[overdue[0].id] == "killed" and outcomes[cheerful.id] == "released"
        assert {outcomes[p.id] for p in overdue[1:]} == {"rescheduled"}
        assert {p.id for p in overdue[1:]} <= _job_ids(engine)  # jobs written again, not resumed
        assert wait_until(lambda: {p.id for p in overdue[1:]} <= _sent(engine), timeout=10)
    finally:
        service.shutdown()
    sent = _sent(engine)
    assert overdue[0].id not in sent and not ({p.id for p in future} | {cheerful.id}) & sent  # not due yet
    assert get_post(engine, overdue[0].id).status == "killed"
    assert get_freeze(engine, freeze.id).status == "thawed"
    # Applying again changes nothing and records nothing.
    again = apply_thaw(engine, plan.id, approver="bram", channel="cli", jobs=jobs)
    assert again.status == "applied"
    actions = [e.action for e in audit.events(engine, incident.id)]
    assert actions.count("thaw.applied") == 1
    assert {
        "freeze.created",
        "thaw.proposed",
        "post.killed",
        "post.rescheduled",
        "post.released",
        "post.published",
    } <= set(actions)
    assert audit.verify(engine).ok


def test_killed_posts_never_publish(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    cancelled = make_posts(engine, checker, jobs, count=1, at=soon(0.5))[0]
    cancel_post(engine, cancelled.id, actor="sam", channel="cli", reason="wrong date")
    frozen = make_posts(engine, checker, jobs, count=2, at=soon(0.7))
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
    plan = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
    apply_thaw(
        engine, plan.id, approver="bram", channel="cli", jobs=jobs, overrides={p.id: ("kill", None) for p in frozen}
    )
    service = QueueScheduler(engine, channel=SandboxChannel(engine), checker=checker, poll_seconds=0.2)
    service.start()
    try:
        time.sleep(1.5)  # past every post's time: their jobs fire and find them killed
    finally:
        service.shutdown()
    assert _sent(engine) == set()
    assert {p.status for p in list_posts(engine)} == {"killed"}
    assert _job_ids(engine) == set()


def test_release_into_another_active_freeze_keeps_the_post_frozen(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    post = make_posts(engine, checker, jobs, count=1, at=soon(3600))[0]
    first = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli", accounts=["brand"])
    other_incident = audit.create_incident(
        engine, playbook_id="hashtag-misuse", playbook_version=1, inputs={}, requester="bram", title="Second crisis"
    )
    second = freeze_now(engine, incident_id=other_incident.id, actor="bram", channel="cli")
    plan = propose_thaw(engine, first.id, actor="ana", channel="cli", checker=checker)
    applied = apply_thaw(engine, plan.id, approver="ana", channel="cli", jobs=jobs)
    assert applied.items[0].outcome == f"held_by_freeze:{second.id}"
    assert get_post(engine, post.id).status == "frozen" and get_post(engine, post.id).freeze_id == second.id
    assert post.id in get_freeze(engine, second.id).post_ids


def test_posts_that_join_after_the_proposal_stay_frozen(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    make_posts(engine, checker, jobs, count=1, at=soon(3600))
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
    plan = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
    late = make_posts(engine, checker, jobs, count=1, at=soon(3600))[0]
    applied = apply_thaw(engine, plan.id, approver="bram", channel="cli", jobs=jobs)
    assert applied.remaining == [late.id]
    assert get_post(engine, late.id).status == "frozen" and get_freeze(engine, freeze.id).status == "active"


def test_bad_overrides_are_refused_with_their_lines(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    with pytest.raises(QueueError) as caught:
        parse_actions("abc=release\n\nabc=explode\nnot a line\nabc=kill@2026-01-01T00:00:00Z\n")
    assert "line 3" in str(caught.value) and "line 4" in str(caught.value) and "line 5" in str(caught.value)
    make_posts(engine, checker, jobs, count=1, at=soon(3600))
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli")
    plan = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
    with pytest.raises(QueueError, match="not in thaw"):
        apply_thaw(
            engine, plan.id, approver="bram", channel="cli", jobs=jobs, overrides={"ffffffffffff": ("kill", None)}
        )
    newer = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
    with pytest.raises(QueueError, match="superseded"):
        apply_thaw(engine, plan.id, approver="bram", channel="cli", jobs=jobs)
    assert apply_thaw(engine, newer.id, approver="bram", channel="cli", jobs=jobs).status == "applied"
