"""The `postmortem` step kind, called as the engine calls it (a StepContext over a real database):
reminders set once, the report attached through the artifacts hook, a summary in the channel."""

from __future__ import annotations

import pytest

from runbook import audit
from runbook.sandbox import SandboxChannel
from runbook.steps.base import StepContext, StepServices
from runbook.steps.registry import load_kinds
from tests.audit.audit_helpers import tamper
from tests.postmortem.scenarios import M, digiorno


class Chat:
    def __init__(self) -> None:
        self.posts: list[tuple] = []

    def post(self, channel, text, *, key):
        if all(k != key for _, _, k in self.posts):
            self.posts.append((channel, text, key))
        return key


def context(engine, incident, *, chat, artifacts=None) -> StepContext:
    services = StepServices(db=engine, channel=SandboxChannel(engine), artifacts=artifacts)
    return StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester=incident.requester,
        step_id="review",
        inputs=incident.inputs,
        steps={},
        audit=lambda *a, **k: None,
        chat=chat,
        channel="crisis-digiorno",
        decision={"follow_ups": "given at the gate"},
        services=services,
    )


def test_postmortem_kind_sets_reminders_attaches_and_posts(lite) -> None:
    kind = load_kinds()["postmortem"]
    assert not kind.human and kind.signoff_at == "before"
    expected = digiorno(lite, stop_after=90 * M)  # the review is signed; the step runs now
    attached: list[dict] = []
    chat = Chat()
    ctx = context(lite, expected.incident, chat=chat, artifacts=lambda **kw: attached.append(kw))
    outputs = kind.run(ctx, kind.params())
    assert outputs.state == "partial" and outputs.verified and outputs.reminders == 2
    assert outputs.metrics["time_to_detect"] == 17 * M and outputs.metrics["duration"] is None
    assert [f["owner"] for f in outputs.follow_ups] == ["Noor", "Sam", None]
    scheduled = [e for e in audit.events(lite, expected.incident.id) if e.action == "followup.scheduled"]
    assert [e.step for e in scheduled] == ["review", "review"]
    (artifact,) = attached
    assert artifact["kind"] == "markdown" and artifact["key"] == f"{expected.incident.slug}-postmortem"
    assert artifact["data"].startswith("# Post-mortem: Pizza joke") and "PARTIAL" in artifact["data"]
    ((channel, text, key),) = chat.posts
    assert channel == "crisis-digiorno" and key == f"{expected.incident.id}:review:summary"
    assert "detect 17m 00s" in text and "4 of 6 answered (66.7%)" in text and "2 reminder(s) set" in text
    # A retried step sets no second reminder and posts nothing new.
    again = kind.run(ctx, kind.params())
    assert again.reminders == 2
    assert len([e for e in audit.events(lite, expected.incident.id) if e.action == "followup.scheduled"]) == 2
    assert len(chat.posts) == 1


def test_postmortem_kind_without_hooks_still_reports(lite) -> None:
    kind = load_kinds()["postmortem"]
    expected = digiorno(lite)
    outputs = kind.run(context(lite, expected.incident, chat=None), kind.params())
    assert outputs.state == "final" and outputs.artifact is None and outputs.reminders == 2


def test_a_failing_artifact_hook_does_not_fail_the_review(lite) -> None:
    kind = load_kinds()["postmortem"]
    expected = digiorno(lite)
    audited: list[tuple] = []

    def broken(**kw):
        raise ConnectionError("Prefect API unreachable")

    ctx = context(lite, expected.incident, chat=None, artifacts=broken)
    ctx.audit = lambda action, details=None: audited.append((action, details))
    outputs = kind.run(ctx, kind.params())
    assert outputs.artifact is None and outputs.state == "final"
    assert audited == [("postmortem.artifact_failed", {"error": "ConnectionError: Prefect API unreachable"})]


def test_postmortem_kind_fails_on_a_broken_trail_after_saying_so(lite) -> None:
    kind = load_kinds()["postmortem"]
    expected = digiorno(lite, stop_after=90 * M)
    tamper(
        lite,
        ("UPDATE audit_event SET actor = 'mallory' WHERE incident_id = :i AND seq = 7", {"i": expected.incident.id}),
    )
    chat, attached = Chat(), []
    with pytest.raises(RuntimeError, match="failed verification"):
        kind.run(context(lite, expected.incident, chat=chat, artifacts=lambda **kw: attached.append(kw)), kind.params())
    assert chat.posts[0][1].startswith("WARNING: the audit trail") and "seq 7" in chat.posts[0][1]
    assert "withheld" in attached[0]["data"]
    outputs = kind.run(context(lite, expected.incident, chat=chat), kind.params(fail_if_untrusted=False))
    assert outputs.state == "untrusted" and set(outputs.metrics.values()) == {None}
    assert not [e for e in audit.events(lite, expected.incident.id) if e.action == "followup.scheduled"]


def test_the_shipped_review_step_can_use_the_kind(tmp_path) -> None:
    """What the lead will do: swap the manual review checklist for `postmortem`, keeping its sign-off."""
    import re
    from pathlib import Path

    from runbook.plan import build_plan
    from runbook.spec import load_playbook, load_roster

    root = Path(__file__).parents[2]
    for name in ("social-media-mistake", "wrong-account-post", "hashtag-misuse"):
        text = (root / "playbooks" / f"{name}.yaml").read_text()
        head, review = text.split("  - id: review\n")
        review = re.sub(r"uses: checklist.*\n", "uses: postmortem\n", review)
        review = re.sub(r"    with:\n      items: .*\n", "    with: {remind_hour_utc: 8}\n", review)
        assert "postmortem" in review and "items" not in review
        (tmp_path / f"{name}.yaml").write_text(head + "  - id: review\n" + review)
        roster = load_roster(root / "roster.yaml")
        playbook = load_playbook(
            tmp_path / f"{name}.yaml", kinds=load_kinds(), roster=roster, templates_dir=root / "templates"
        )
        inputs = {
            k: v for k, v in {"summary": "x", "hashtag": "#x", "account": "@brand"}.items() if k in playbook.inputs
        }
        plan = build_plan(playbook=playbook, roster=roster, kinds=load_kinds(), requester="sam", inputs=inputs)
        gate = plan.step("review").gate
        assert gate.at == "before" and "follow_ups" in gate.fields
