"""The flow's authorisation of sign-off decisions, without Prefect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook.engine.authorize import Ballot, Tally, judge
from runbook.plan import GatePlan
from runbook.spec.models import FieldType, InputField
from runbook.spec.roster import Roster

ROSTER = Roster.model_validate(
    {
        "people": [
            {"id": "ana", "name": "Ana", "roles": ["comms_lead"], "deputy": "dan"},
            {"id": "ben", "name": "Ben", "roles": ["comms_lead"]},
            {"id": "lea", "name": "Lea", "roles": ["legal"]},
            {"id": "dan", "name": "Dan", "roles": []},
            {"id": "ron", "name": "Ron", "roles": ["comms_lead"]},
        ]
    }
)
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def gate(**kw) -> GatePlan:
    base = dict(
        at="before",
        roles=["comms_lead", "legal"],
        quorum=1,
        not_requester=False,
        timeout_seconds=None,
        escalate_to=[],
        on_timeout="fail",
        prompt=None,
        fields={},
        signers=["ana", "ben", "lea", "ron"],
        escalation=[],
    )
    base.update(kw)
    return GatePlan(**base)


def decide(
    g: GatePlan,
    person: str,
    *,
    tally: Tally = Tally(),  # noqa: B008 - Tally is frozen
    approve: bool = True,
    escalate: bool = False,
    decision_id: str = "",
    fields=None,
    deadline=None,
    now=NOW,
):
    return judge(
        gate=g,
        roster=ROSTER,
        requester="ron",
        tally=tally,
        now=now,
        deadline=deadline,
        ballot=Ballot(
            approve=approve,
            person=person,
            channel="cli",
            escalate=escalate,
            decision_id=decision_id,
            fields=fields or {},
        ),
    )


def test_one_approval_by_a_role_holder_grants():
    verdict = decide(gate(), "ana")
    assert verdict.outcome == "granted" and verdict.tally.approvals == ("ana",)


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        ("zed", "'zed' is not in the roster"),
        ("", "no person given"),
        ("dan", "dan holds none of the roles comms_lead, legal"),
    ],
)
def test_unknown_people_and_people_without_the_role_are_refused(person, reason):
    verdict = decide(gate(), person)
    assert verdict.outcome == "refused" and reason in verdict.reason


def test_the_requester_is_refused_under_not_requester_but_not_otherwise():
    assert decide(gate(not_requester=True), "ron").outcome == "refused"
    assert "two-person rule" in decide(gate(not_requester=True), "ron").reason
    assert decide(gate(), "ron").outcome == "granted"


def test_quorum_counts_distinct_people_only():
    g = gate(quorum=2)
    first = decide(g, "ana", decision_id="d1")
    assert first.outcome == "approved"
    again = decide(g, "ana", tally=first.tally, decision_id="d2")
    assert again.outcome == "refused" and "already approved" in again.reason
    second = decide(g, "lea", tally=again.tally, decision_id="d3")
    assert second.outcome == "granted" and second.tally.approvals == ("ana", "lea")


def test_a_replayed_decision_id_is_refused():
    first = decide(gate(quorum=2), "ana", decision_id="same")
    replay = decide(gate(quorum=2), "ben", tally=first.tally, decision_id="same")
    assert replay.outcome == "refused" and "already received" in replay.reason


def test_one_authorised_rejection_rejects():
    verdict = decide(gate(quorum=2), "lea", approve=False)
    assert verdict.outcome == "rejected" and verdict.reason == "rejected by lea"
    assert decide(gate(), "dan", approve=False).outcome == "refused"  # a rejection needs authority too


def test_escalation_is_honoured_only_after_the_deadline():
    deadline = NOW + timedelta(minutes=30)
    assert decide(gate(), "", escalate=True, deadline=None).outcome == "refused"
    early = decide(gate(), "", escalate=True, deadline=deadline)
    assert early.outcome == "refused" and "has not passed" in early.reason
    assert decide(gate(), "", escalate=True, deadline=deadline, now=deadline).outcome == "timeout"


def test_escalation_people_may_sign_only_once_escalated():
    g = gate(roles=["legal"], signers=["lea"], escalation=["dan"])
    before = decide(g, "dan")
    assert before.outcome == "refused" and "not escalated" in before.reason
    assert decide(g, "dan", tally=Tally(escalated=True)).outcome == "granted"


def test_fields_are_typed_required_and_merged_across_approvers():
    fields = {
        "choice": InputField(type=FieldType.choice, options=["delete", "keep"], required=True),
        "text": InputField(type=FieldType.text),
        "ok": InputField(type=FieldType.bool, default=False),
    }
    g = gate(quorum=2, fields=fields)
    assert "choice is required" in decide(g, "ana").reason
    assert "choice: must be one of delete, keep" in decide(g, "ana", fields={"choice": "burn"}).reason
    first = decide(g, "ana", fields={"choice": "delete", "text": "v1", "ok": "yes"})
    assert first.outcome == "approved"
    second = decide(g, "lea", tally=first.tally, fields={"text": "v2"})  # choice given earlier suffices
    assert second.outcome == "granted"
    assert dict(second.tally.fields) == {"choice": "delete", "text": "v2", "ok": True}
