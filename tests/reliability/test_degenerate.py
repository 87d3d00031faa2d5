"""Every empty or degenerate case, once through the CLI and once through a playbook step: a freeze
of nothing, a thaw of nothing, replies to nobody, a statement for zero platforms, an incident
cancelled while frozen (its freeze stays on and is flagged until thawed or kept), and a second
freeze while one is active. Each leaves a verifying audit trail and never a traceback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from runbook import audit
from runbook.queue import NewPost, get_freeze, list_posts, schedule_posts
from runbook.queue.jobs import JobBook
from runbook.queue.orphans import active_freezes, orphaned_freezes
from runbook.queue.times import utcnow
from runbook.steps.freeze_posts import KIND as FREEZE
from runbook.steps.thaw_posts import KIND as THAW
from tests.reliability.conftest import new_incident, step_context


def _schedule(engine, n: int, *, account: str = "brand", minutes: int = 60) -> list:  # noqa: ANN001
    from runbook.checks import Checker

    checker, jobs = Checker(links=False), JobBook(engine)
    try:
        return schedule_posts(
            engine,
            [
                NewPost(
                    account=account,
                    platform="x",
                    text=f"Autumn menu {i}",
                    run_at=utcnow() + timedelta(minutes=minutes),
                    author="sam",
                )
                for i in range(n)
            ],
            checker=checker,
            jobs=jobs,
            actor="sam",
            channel="cli",
        )
    finally:
        jobs.close()
        checker.close()


def _verified(engine) -> None:  # noqa: ANN001
    report = audit.verify(engine)
    assert report.ok, report.problems


# -- a freeze of nothing, then a thaw of nothing (the reported crash) ---------------------------------
def test_freeze_and_thaw_of_nothing_through_the_cli(cli) -> None:  # noqa: ANN001
    code, out = cli("freeze", "--as", "ana", "--json")
    assert code == 0, out
    freeze = json.loads(out)
    assert freeze["frozen"] == 0 and freeze["status"] == "active"
    code, out = cli("freeze", "--as", "ana")
    assert code == 0 and "nothing was scheduled; posts scheduled in scope from now on join this freeze" in out
    code, out = cli("thaw", freeze["id"], "--as", "ana", "--no-links")
    assert code == 0 and "no frozen posts" in out, out
    code, out = cli("thaw", freeze["id"], "--as", "bram", "--apply")
    assert code == 0 and "Traceback" not in out, out
    assert get_freeze(cli.db, freeze["id"]).status == "thawed"
    code, out = cli("thaw", freeze["id"], "--as", "ana", "--no-links")  # thawing it again: one clear line
    assert code == 1 and out.strip() == f"error: freeze {freeze['id']} is thawed: there is nothing to thaw"
    actions = [e.action for e in audit.events(cli.db, audit.ledger(cli.db, "post-queue"))]
    assert actions.count("thaw.applied") == 1 and actions.count("freeze.created") == 2
    _verified(cli.db)


def test_freeze_and_thaw_of_nothing_through_the_playbook_steps(cli) -> None:  # noqa: ANN001
    engine = cli.db
    incident = new_incident(engine)
    frozen = FREEZE.run(step_context(engine, incident, "freeze"), FREEZE.params())
    assert frozen.created and frozen.frozen == 0
    proposal = THAW.run(step_context(engine, incident, "thaw"), THAW.params())
    assert proposal.phase == "proposed" and proposal.counts == {} and proposal.actions == ""
    applied = THAW.run(
        step_context(engine, incident, "thaw", decision={"person": "bram", "actions": ""}), THAW.params()
    )
    assert applied.phase == "applied" and applied.counts == {} and applied.remaining == []
    assert get_freeze(engine, frozen.freeze_id).status == "thawed"
    trail = [e.action for e in audit.events(engine, incident.id)]
    assert [a for a in trail if a.startswith(("freeze.", "thaw."))] == [
        "freeze.created",
        "thaw.proposed",
        "thaw.applied",
    ]
    _verified(engine)


def test_a_post_scheduled_into_an_empty_freeze_joins_it(cli) -> None:  # noqa: ANN001
    engine = cli.db
    incident = new_incident(engine)
    frozen = FREEZE.run(step_context(engine, incident, "freeze"), FREEZE.params())
    [post] = _schedule(engine, 1)
    assert post.status == "frozen" and post.freeze_id == frozen.freeze_id
    proposal = THAW.run(step_context(engine, incident, "thaw"), THAW.params())
    assert proposal.counts == {"release": 1}


# -- replies to nobody, a statement for zero platforms ---------------------------------------------
def test_replies_to_nobody_finish_at_once(cli) -> None:  # noqa: ANN001
    from runbook.checks import Checker
    from runbook.sandbox import SandboxChannel
    from runbook.steps.reply_individually import KIND as REPLY
    from tests.messaging.conftest import TEMPLATES, make_brand, reply_params

    engine = cli.db
    incident = new_incident(engine)
    brand = make_brand()
    checker = Checker(brand.policy, links=False)
    try:
        ctx = step_context(
            engine,
            incident,
            "replies",
            brand=brand,
            checker=checker,
            channel=SandboxChannel(engine),
            templates_dir=str(TEMPLATES),
        )
        out = REPLY.run(ctx, reply_params())
    finally:
        checker.close()
    assert out.phase == "done" and not out.awaiting_review and out.people == 0 and out.sent == 0
    _verified(engine)


def test_a_statement_for_zero_platforms_is_refused_before_anything_runs(cli, tmp_path) -> None:  # noqa: ANN001
    from runbook.steps.draft_statement import KIND as DRAFT
    from runbook.steps.publish import KIND as PUBLISH

    with pytest.raises(ValueError, match="platforms"):
        DRAFT.params.model_validate({"template": "statements/apology.j2", "platforms": []})
    with pytest.raises(ValueError, match="platforms"):
        PUBLISH.params.model_validate({"statement": "statement", "platforms": []})
    book = tmp_path / "zero.yaml"
    book.write_text(_zero_platform_playbook(), encoding="utf-8")
    code, out = cli("check", str(book))
    assert code == 1 and "Traceback" not in out
    assert "zero.yaml:12:" in out and "platforms" in out, out


def test_publish_with_a_platform_filter_matching_no_variant_is_a_clear_failure(cli) -> None:  # noqa: ANN001
    from runbook.steps.publish import KIND as PUBLISH
    from runbook.steps.publish import NotApproved

    engine = cli.db
    incident = new_incident(engine)
    steps = {
        "statement": {
            "outputs": {
                "variants": {"x": {"account": "brand", "text": "We are sorry."}},
                "approved_by": ["bram"],
                "language": "en",
            }
        }
    }
    with pytest.raises(NotApproved, match="no drafted variant for linkedin"):
        PUBLISH.run(step_context(engine, incident, "publish", steps=steps), PUBLISH.params(platforms=["linkedin"]))


def _zero_platform_playbook() -> str:
    return """id: zero
title: Zero platforms
version: 1
inputs:
  summary: {type: text, required: true}
roles: [comms_lead]
steps:
  - id: statement
    uses: draft_statement
    with:
      template: statements/apology.j2
      platforms: []
    signoff: {roles: [comms_lead]}
"""


# -- cancelled while frozen -------------------------------------------------------------------------
def test_cancelled_while_frozen_through_the_cli(cli) -> None:  # noqa: ANN001
    engine = cli.db
    _schedule(engine, 2)
    incident = new_incident(engine)
    code, out = cli("freeze", "--as", "ana", "--incident", incident.slug, "--json")
    assert code == 0, out
    freeze_id = json.loads(out)["id"]
    code, out = cli("cancel", incident.slug, "--as", "ana", "--reason", "false alarm")
    assert code == 0, out
    # The freeze stays on (cancelling never publishes) and is flagged: status, every posts command, chat.
    assert [f.id for f in orphaned_freezes(engine)] == [freeze_id]
    code, out = cli("status")
    assert code == 0 and f"ORPHANED active freeze {freeze_id}" in out and "holds 2 post(s)" in out, out
    code, out = cli("posts", "list")
    assert code == 0 and f"warning: freeze {freeze_id} still holds 2 post(s)" in out and "is cancelled" in out
    trail = audit.events(engine, incident.id)
    assert [e.action for e in trail].count("freeze.orphaned") == 1
    assert any(e.action == "chat.posted" and freeze_id in json.dumps(e.details) for e in trail)
    code, out = cli("freeze", "keep", freeze_id, "--as", "bram", "--reason", "")
    assert code == 1 and "needs a --reason" in out
    code, out = cli("freeze", "keep", freeze_id, "--as", "bram", "--reason", "legal asked to hold everything")
    assert code == 0 and "kept by bram" in out, out
    code, out = cli("posts", "list")
    assert code == 0 and "warning" not in out
    code, out = cli("status")
    assert "ORPHANED" not in out and "kept by bram: legal asked to hold everything" in out
    assert {p.status for p in list_posts(engine)} == {"frozen"}
    kept = [e for e in audit.events(engine, incident.id) if e.action == "freeze.kept"]
    assert len(kept) == 1 and kept[0].actor == "bram"
    _verified(engine)


def test_cancelled_while_frozen_through_the_playbook(cli) -> None:  # noqa: ANN001
    from runbook.engine import commands

    services = cli.services
    _schedule(services.db, 3)
    started = commands.start(
        services=services,
        playbook_ref="social-media-mistake",
        inputs={"summary": "Offensive reply"},
        requester="ana",
        create_run=False,
    )
    assert started.immediate == ["freeze"]  # the playbook's freeze step ran as the incident started
    commands.cancel(services=services, incident_ref=started.incident.slug, person="ana", reason="false alarm")
    [orphan] = orphaned_freezes(services.db)
    assert orphan.incident == started.incident.slug and orphan.holding == 3
    again = commands.flag_orphaned_freezes(services)  # the worker's sweep: nothing is flagged twice
    assert [f.id for f in again] == [orphan.id]
    trail = [e.action for e in audit.events(services.db, started.incident.id)]
    assert trail.count("freeze.orphaned") == 1 and trail.count("incident.cancelled") == 1
    posted = [
        e
        for e in audit.events(services.db, started.incident.id)
        if e.action == "chat.posted" and "still holds 3 post(s)" in json.dumps(e.details)
    ]
    assert len(posted) == 1
    [row] = commands.status(services=services)
    assert row.freeze["id"] == orphan.id and row.freeze["orphaned"]


# -- a second freeze while one is active --------------------------------------------------------------
def test_a_second_freeze_through_the_cli_says_what_the_first_holds(cli) -> None:  # noqa: ANN001
    posts = _schedule(cli.db, 2)
    code, out = cli("freeze", "--as", "ana", "--json")
    first = json.loads(out)
    code, out = cli("freeze", "--as", "bram", "--accounts", "brand")
    assert (
        code == 0
        and f"already held by another active freeze (they join this one if that one thaws first): 2 by {first['id']}"
        in out
    ), out
    second_id = out.split()[1].rstrip(":")
    cli("thaw", first["id"], "--as", "ana", "--no-links")
    code, out = cli("thaw", first["id"], "--as", "bram", "--apply")
    assert code == 0 and "2 held_by_freeze" in out, out
    assert {p.freeze_id for p in list_posts(cli.db)} == {second_id} and {p.status for p in list_posts(cli.db)} == {
        "frozen"
    }
    assert [f.id for f in active_freezes(cli.db)] == [second_id]
    assert {p.id for p in posts} == set(get_freeze(cli.db, second_id).post_ids)
    _verified(cli.db)


def test_a_second_incident_freezing_through_its_step_keeps_the_posts_frozen(cli) -> None:  # noqa: ANN001
    engine = cli.db
    _schedule(engine, 2)
    one, two = new_incident(engine, "first"), new_incident(engine, "second")
    first = FREEZE.run(step_context(engine, one, "freeze"), FREEZE.params())
    second = FREEZE.run(step_context(engine, two, "freeze"), FREEZE.params())
    assert first.frozen == 2 and second.frozen == 0 and second.held_elsewhere == {first.freeze_id: 2}
    THAW.run(step_context(engine, one, "thaw"), THAW.params())
    applied = THAW.run(step_context(engine, one, "thaw", decision={"person": "bram", "actions": ""}), THAW.params())
    assert applied.counts == {f"held_by_freeze:{second.freeze_id}": 2}
    assert {p.status for p in list_posts(engine)} == {"frozen"}
    assert THAW.run(step_context(engine, two, "thaw"), THAW.params()).counts == {"release": 2}
    _verified(engine)
