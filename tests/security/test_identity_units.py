"""What each identity proves, decided from the audit trail: an attested Slack click by the
person's Slack id, an OS user mapped in cli_users, anything else a claim; gates may require one."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from runbook.engine.authorize import Ballot, Tally, judge
from runbook.engine.identity import ATTESTED, establish, required
from runbook.plan import GatePlan
from runbook.spec.roster import Roster

ROSTER = Roster.model_validate(
    {
        "people": [
            {"id": "ana", "name": "Ana", "slack_id": "U0ANA", "roles": ["comms_lead"]},
            {"id": "lena", "name": "Lena", "slack_id": "U0LENA", "roles": ["legal"]},
        ],
        "cli_users": {"ana.devries": "ana"},
        "require_identity": {"statement": ["slack"]},
    }
)


def attested(decision_id: str, person: str, channel: str, **details):
    return SimpleNamespace(
        action=ATTESTED, actor=person, channel=channel, details={"decision_id": decision_id, **details}
    )


def test_establish_matches_decisions_to_attestations():
    slack = attested("d1", "lena", "slack", method="slack-signature", slack_user="U0LENA")
    cli = attested("d2", "ana", "cli", method="os-user", os_user="ana.devries")
    borrowed = attested("d3", "lena", "cli", method="os-user", os_user="ana.devries")
    events = [slack, cli, borrowed]
    assert establish(events, decision_id="d1", person="lena", channel="slack", roster=ROSTER)["as"] == "slack"
    assert establish(events, decision_id="d2", person="ana", channel="cli", roster=ROSTER)["as"] == "cli"
    lent = establish(events, decision_id="d3", person="lena", channel="cli", roster=ROSTER)
    assert lent == {"method": "os-user", "verified": False, "as": None, "os_user": "ana.devries", "maps_to": "ana"}
    # An invented decision id, or a real one resent under another name or channel: a claim.
    for decision_id, person, channel in (("made-up", "lena", "slack"), ("d1", "ana", "slack"), ("d1", "lena", "cli")):
        who = establish(events, decision_id=decision_id, person=person, channel=channel, roster=ROSTER)
        assert who["method"] == "claim" and who["as"] is None and who["claimed_channel"] == channel


def test_a_gate_requiring_a_verified_identity_refuses_claims():
    gate = GatePlan(
        at="before",
        roles=["comms_lead", "legal"],
        quorum=2,
        not_requester=True,
        timeout_seconds=None,
        escalate_to=[],
        on_timeout="fail",
        prompt=None,
        fields={},
        signers=["ana", "lena"],
        escalation=[],
    )
    need = required(ROSTER, SimpleNamespace(require_identity={"*": ["cli"]}), "statement")
    assert need == ("slack", "cli")
    now = datetime.now(UTC)

    def vote(person: str, verified_as: str):
        return judge(
            gate=gate,
            roster=ROSTER,
            requester="sam",
            tally=Tally(),
            now=now,
            deadline=None,
            ballot=Ballot(approve=True, person=person, channel="cli", verified_as=verified_as),
            required=need,
        )

    refused = vote("lena", "")
    assert refused.outcome == "refused"
    assert refused.reason == "this sign-off needs an identity verified by slack or cli; lena's was only claimed"
    assert vote("lena", "slack").outcome == "approved"
    assert required(ROSTER, SimpleNamespace(require_identity={}), "publish") == ()
