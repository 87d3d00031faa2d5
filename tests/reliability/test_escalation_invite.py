"""An escalation invite end to end on the real engine (Prefect harness + worker) and the real Slack
app: legal does not answer within the deadline, the deadline run escalates the gate, the relay
invites the people asked on escalation (the comms leads and legal's deputy) into the war room, the escalated
request carries buttons, and a comms lead's click completes the incident."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runbook.audit import verify
from runbook.slack.signoffs import APPROVE
from tests.slack.conftest import fake, online  # noqa: F401 - fixtures

PLAYBOOK = Path(__file__).parent / "playbooks" / "t-escalate-invite.yaml"

pytestmark = pytest.mark.prefect


def test_escalated_people_are_invited_and_can_decide(online, engine) -> None:  # noqa: ANN001, F811
    shutil.copy(PLAYBOOK, engine.workdir / "playbooks" / PLAYBOOK.name)
    fake, agent = online.fake, online.agent
    agent.command("start t-escalate-invite legal is away", user="U0ANA", response="start")
    fake.wait_response(lambda p: "Started" in p.get("text", ""), timeout=60)
    incident = online.incidents("t-escalate-invite")[-1]
    room = online.incident(incident.id).channel
    first = {
        u for c in fake.of("conversations.invite") if c.params["channel"] == room for u in c.params["users"].split(",")
    }
    assert "U0BEN" not in first  # a comms lead is only asked once legal's deadline passed

    escalated = online.wait_event(incident.id, "signoff.escalated", step="legal-check", timeout=90)
    assert {"ben", "dan"} <= set(escalated.details["signers"])

    def invited(calls):  # noqa: ANN001, ANN202
        users = {
            u
            for c in calls
            if c.method == "conversations.invite" and c.params.get("channel") == room
            for u in c.params["users"].split(",")
        }
        return {"U0BEN", "U0DAN"} <= users and users

    fake.wait_for(invited, timeout=60, what="escalation invites")
    # The escalated request (phase 1) is the one answered: its message and token, from the trail.
    posted = online.wait_event(incident.id, "slack.signoff_posted", step="legal-check", count=2, timeout=60)
    assert int(posted.details["phase"]) == 1
    token, ts = posted.details["token"], posted.details["ts"]
    assert agent.click(APPROVE, token, user="U0BEN", channel=room, ts=ts, response="ben").status == 200
    try:
        granted = online.wait_event(incident.id, "signoff.granted", step="legal-check", timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nanswers: {[p.get('text') for _, p, _ in fake.responses]}") from None
    assert granted.details["approvers"] == ["ben"] and granted.details["escalated"] is True
    online.wait_event(incident.id, "incident.completed", timeout=90)
    assert verify(online.services.db, incident.id).ok
