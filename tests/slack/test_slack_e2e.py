"""From `/crisis start` to a completed incident on the real engine (Prefect harness + worker), with
every sign-off given in Slack: buttons, the edit modal with a refused then accepted submission,
an unknown clicker, a clicker without the role, a double click, a rival's click and a replay.
"""

from __future__ import annotations

import concurrent.futures
import json

import pytest

from runbook.audit import verify
from runbook.slack.signoffs import APPROVE, EDIT, REJECT, SUBMIT
from tests.slack.agent import number_value, select_value, text_value

pytestmark = pytest.mark.prefect


def signoff_message(fake, step: str, *, timeout: float = 60.0):
    """(channel, ts, token, blocks) of the request message for `step`."""

    def find(calls):
        for call in calls:
            if call.method != "chat.postMessage" or call.status != 200:
                continue
            blocks = call.params.get("blocks") or []
            if any(f"step `{step}`" in json.dumps(b) for b in blocks) and any(b["type"] == "actions" for b in blocks):
                action = next(b for b in blocks if b["type"] == "actions")
                return call.params["channel"], action["elements"][0]["value"], blocks
        return None

    channel, token, blocks = fake.wait_for(find, timeout=timeout, what=f"sign-off message for {step}")
    ts = next(ts for (ch, ts), m in fake.messages.items() if ch == channel and m["blocks"] == blocks)
    return channel, ts, token, blocks


def message_text(fake, channel: str, ts: str) -> str:
    return json.dumps(fake.messages[(channel, ts)]["blocks"])


def test_start_to_completion_with_signoffs_given_in_slack(online):
    fake, agent = online.fake, online.agent

    answer = agent.command('start s-respond "Offensive reply & <script>"', user="U0ANA", response="start")
    assert answer.status == 200 and "Starting" in answer.json()["text"]
    assert answer.seconds < 0.5
    started = fake.wait_response(lambda p: "Started" in p.get("text", ""), timeout=30)
    incident = online.incidents("s-respond")[-1]
    assert incident.slug in started["text"]

    # The war room: named after the incident, the requester and the signers invited, status pinned.
    create = fake.of("conversations.create")[-1]
    assert create.params["name"] == f"crisis-{incident.slug}"
    room = online.incident(incident.id).channel
    invited = {
        u for c in fake.of("conversations.invite") if c.params["channel"] == room for u in c.params["users"].split(",")
    }
    assert {"U0ANA", "U0BEN"} <= invited
    status_ts = next(c.params["timestamp"] for c in fake.of("pins.add") if c.params["channel"] == room)

    # The notify step's text reaches the room escaped for mrkdwn (& < > only).
    hello = fake.wait_for(
        lambda calls: [
            c for c in calls if c.method == "chat.postMessage" and "War room for" in c.params.get("text", "")
        ],
        what="hello message",
    )[0]
    assert "&lt;script&gt;" in hello.params["text"] and "&lt;everyone&gt; &amp; friends" in hello.params["text"]

    # -- go-ahead: plain buttons ------------------------------------------------------------------
    channel, ts, token, blocks = signoff_message(fake, "go-ahead")
    assert channel == room
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [APPROVE, REJECT]  # no fields: no Edit
    assert token not in (incident.id, incident.slug) and len(token) >= 16  # opaque

    # Someone outside the roster: refused, audited, told why.
    assert agent.click(APPROVE, token, user="U0STRANGER", channel=room, ts=ts, response="stranger").status == 200
    told = fake.wait_response(lambda p: "not in the incident roster" in p.get("text", ""))
    assert told["response_type"] == "ephemeral"
    refused = online.wait_event(incident.id, "slack.refused", step="go-ahead")
    assert refused.actor == "slack:U0STRANGER" and refused.channel == "slack"

    # A roster person without the role: the engine refuses and records it; the clicker is told.
    agent.click(APPROVE, token, user="U0SAM", channel=room, ts=ts, response="sam")
    told = fake.wait_response(lambda p: p.get("text", "").startswith("Not counted"), timeout=60)
    assert "holds none of the roles comms_lead" in told["text"]
    engine_refusal = online.wait_event(incident.id, "signoff.refused", step="go-ahead")
    assert (engine_refusal.actor, engine_refusal.channel) == ("sam", "slack")

    # Ana double-clicks while Ben clicks too; then the first click is replayed byte for byte.
    first = agent.click_body(APPROVE, token, user="U0ANA", channel=room, ts=ts, response="ana-1")
    bodies = [
        first,
        agent.click_body(APPROVE, token, user="U0ANA", channel=room, ts=ts, response="ana-2"),
        agent.click_body(APPROVE, token, user="U0BEN", channel=room, ts=ts, response="ben"),
    ]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(agent.send, bodies))
    assert [a.status for a in answers] == [200, 200, 200]
    assert max(a.seconds for a in answers) < 1.0
    granted = online.wait_event(incident.id, "signoff.granted", step="go-ahead", timeout=90)
    replies = [fake_wait(fake, name) for name in ("ana-1", "ana-2", "ben")]
    assert sum(r.startswith("Approved") for r in replies) == 1, replies
    assert sum(r.startswith("Already decided") for r in replies) == 2, replies
    approvals = [e for e in online.events(incident.id) if e.action == "signoff.approved" and e.step == "go-ahead"]
    assert len(approvals) == 1 and approvals[0].channel == "slack"
    assert approvals[0].details["decision_id"].startswith("slack-")  # derived from the click: replay-proof
    assert granted.details["approvers"] == [approvals[0].actor]
    replay = agent.send(first)
    assert replay.status == 200
    assert fake_wait(fake, "ana-1", count=2).startswith("This click was already received")

    # The request message now says who decided and when, without buttons.
    decided = fake.wait_for(lambda calls: "Approved by" in message_text(fake, channel, ts), what="decided message")
    assert decided
    assert "actions" not in message_text(fake, channel, ts)

    # -- assess: the modal, refused then accepted ------------------------------------------------------
    channel, ts, token, blocks = signoff_message(fake, "assess")
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [APPROVE, EDIT, REJECT]
    opened = len(fake.of("views.open"))
    agent.click(EDIT, token, user="U0BEN", channel=room, ts=ts)
    view_call = fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"][opened:], what="views.open")[
        0
    ]
    view = view_call.params["view"]
    assert view["private_metadata"] == token and view["callback_id"] == SUBMIT
    inputs = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs == {"f:choice": "static_select", "f:affected": "number_input", "comment": "plain_text_input"}

    bad = agent.submit(
        SUBMIT,
        token,
        {"f:choice": select_value(None), "f:affected": number_value("12.5")},
        user="U0BEN",
        blocks=view["blocks"],
    )
    assert bad.status == 200 and bad.seconds < 1.0
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"f:choice": "Required", "f:affected": "Must be a whole number"},
    }
    good = agent.submit(
        SUBMIT,
        token,
        {
            "f:choice": select_value("high"),
            "f:affected": number_value("120"),
            "comment": text_value("we checked the replies"),
        },
        user="U0BEN",
        blocks=view["blocks"],
    )
    assert good.status == 200 and good.body in ("", "{}")

    closed = _wait_closed(online, incident.id)
    assert closed.status == "completed"
    approved = [e for e in online.events(incident.id) if e.action == "signoff.approved" and e.step == "assess"][0]
    assert (approved.actor, approved.channel) == ("ben", "slack")
    assert approved.details["fields"] == {"choice": "high", "affected": 120}
    assert approved.details["comment"] == "we checked the replies"
    done = [e for e in online.events(incident.id) if e.action == "step.finished" and e.step == "done"][0]
    assert done.details["outputs"]["text"] == "Assessed high (120 affected)"

    # The pinned status message was updated in place and ends completed; the timeline was echoed.
    fake.wait_for(lambda calls: "completed" in fake.messages[(room, status_ts)]["text"], what="final status")
    assert len(fake.of("pins.add")) == 1
    fake.wait_for(
        lambda calls: any("incident.completed" in c.params.get("text", "") for c in fake.posts(room)),
        what="the timeline's last line",
    )
    echoed = " ".join(c.params.get("text", "") for c in fake.posts(room))
    for action in ("incident.started", "signoff.granted", "step.finished", "incident.completed"):
        assert action in echoed
    assert verify(online.services.db, incident.id).ok


def fake_wait(fake, name: str, *, count: int = 1, timeout: float = 60.0) -> str:
    """The text of the `count`-th answer posted to the response_url `name`."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        texts = [p.get("text", "") for path, p, _ in list(fake.responses) if path == f"/response/{name}"]
        if len(texts) >= count:
            return texts[count - 1]
        time.sleep(0.05)
    raise AssertionError(f"no answer {count} at {name}: {[(p, q.get('text')) for p, q, _ in fake.responses]}")


def _wait_closed(online, incident_id: str, timeout: float = 120.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        current = online.incident(incident_id)
        if current.status in ("completed", "failed", "cancelled"):
            return current
        time.sleep(0.2)
    raise AssertionError(f"still {current.status}: {[e.action for e in online.events(incident_id)]}")
