"""The plan (no Prefect): who may sign each gate, escalation, deadlines, and the dry-run text."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.plan import PlanError, build_plan, find_playbook, parse_assignments, render_plan
from runbook.spec import InputError, load_playbook, load_roster
from runbook.steps.registry import load_kinds

HERE = Path(__file__).parent
ROSTER = load_roster(HERE / "roster.yaml")


def plan_of(name: str, inputs=None, requester="ron"):
    kinds = load_kinds()
    playbook = load_playbook(HERE / "playbooks" / f"{name}.yaml", kinds=kinds, roster=ROSTER)
    return build_plan(playbook=playbook, roster=ROSTER, kinds=kinds, inputs=inputs or {}, requester=requester)


def test_signers_exclude_the_requester_under_not_requester():
    plan = plan_of("t-quorum", {"summary": "x"}, requester="alma")
    gate = plan.step("statement").gate
    assert gate.signers == ["ben", "lea"] and gate.quorum == 2 and gate.fields["text"].type.value == "text"


def test_escalation_adds_escalate_to_and_the_signers_deputies():
    gate = plan_of("t-escalate").step("legal-check").gate
    assert gate.signers == ["lea"] and gate.escalation == ["evi", "dirk"] and gate.timeout_seconds == 3


def test_kind_fields_come_before_the_signoff_input():
    gate = plan_of("t-gate", {"summary": "x"}).step("go-ahead").gate
    assert list(gate.fields) == ["choice"] and gate.fields["choice"].options == ["proceed", "hold"]


def test_inputs_and_requester_are_checked():
    with pytest.raises(InputError, match="summary: required"):
        plan_of("t-gate")
    with pytest.raises(PlanError, match="'nobody' is not in the roster"):
        plan_of("t-gate", {"summary": "x"}, requester="nobody")


def test_a_gate_nobody_can_reach_is_refused():
    kinds = load_kinds()
    playbook = load_playbook(HERE / "playbooks" / "t-quorum.yaml", kinds=kinds, roster=ROSTER)
    tiny = ROSTER.model_copy(update={"people": [p for p in ROSTER.people if p.id in ("alma", "ben", "ron")]})
    with pytest.raises(PlanError, match="needs 2 people but only 1 may sign"):
        build_plan(playbook=playbook, roster=tiny, kinds=kinds, inputs={"summary": "x"}, requester="alma")


def test_render_plan_reads_like_a_dry_run():
    text = render_plan(plan_of("t-escalate"), roster=ROSTER)
    assert "1. legal-check: Legal check  <notify>  (side effects)" in text
    assert "may sign: Lea Legal (lea)" in text
    assert "within 3s; then escalate to Evi Exec (evi), Dirk Deputy (dirk) for another 3s; then fail" in text


def test_find_playbook_and_assignments(tmp_path):
    (tmp_path / "a.yaml").write_text("id: a")
    assert find_playbook(tmp_path, "a") == tmp_path / "a.yaml"
    with pytest.raises(FileNotFoundError, match=r"no playbook 'b' in .* \(known: a\)"):
        find_playbook(tmp_path, "b")
    assert parse_assignments(["summary=a=b", "x="]) == {"summary": "a=b", "x": ""}
    with pytest.raises(ValueError, match="write it as name=value"):
        parse_assignments(["oops"])
