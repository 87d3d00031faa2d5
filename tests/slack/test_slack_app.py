"""The real Bolt app over loopback, without Prefect: slash commands, refusals and their audit, the
start form with field errors, unique war-room names, freeze, status, and no secret in any log line."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

from runbook.ports.chat import SignoffRequest
from runbook.slack import blocks as bk
from runbook.slack.access import LEDGER_PLAYBOOK
from runbook.slack.client import install_redaction
from runbook.slack.crisis import START_SUBMIT
from runbook.slack.signoffs import APPROVE, Signoffs
from runbook.spec import load_roster
from runbook.spec.models import FieldType, InputField
from tests.slack.agent import VERIFICATION_TOKEN, number_value, select_value, text_value
from tests.slack.conftest import HERE, SECRET


def ledger_events(h):
    ledgers = h.incidents(LEDGER_PLAYBOOK)
    assert len(ledgers) == 1
    return [e for e in h.events(ledgers[0].id) if e.action == "slack.refused"]


def test_help_and_parse_errors_are_answered_in_the_ack(offline):
    answer = offline.agent.command("help", user="U0ANA")
    assert answer.status == 200 and "/crisis start PLAYBOOK" in answer.json()["text"]
    answer = offline.agent.command("start ../../etc/passwd.yaml", user="U0ANA")
    assert answer.json() == {
        "response_type": "ephemeral",
        "text": "⚠️ '../../etc/passwd.yaml' is not a playbook id (lower-case words joined by "
        "dashes); see `/crisis list`",
    }
    answer = offline.agent.command("start no-such-playbook", user="U0ANA", response="nope")
    assert answer.status == 200
    assert "no playbook `no-such-playbook`" in offline.fake.wait_response()["text"]


def test_unknown_user_and_can_start_false_are_refused_and_audited(offline):
    offline.agent.command("start s-respond Something bad", user="U0NOBODY")
    told = offline.fake.wait_response()
    assert "not in the incident roster" in told["text"] and told["response_type"] == "ephemeral"
    offline.agent.command("start s-respond Something bad", user="U0JAY")
    told = offline.fake.wait_response(lambda p: "does not let you start" in p.get("text", ""))
    assert "Jay Intern" in told["text"]
    offline.agent.command("freeze now", user="U0NOBODY")
    offline.fake.wait_response(lambda p: "cannot do that" in p.get("text", ""), after=2)
    offline.agent.command("status", user="U0NOBODY")
    offline.fake.wait_response(lambda p: "cannot see incidents" in p.get("text", ""), after=3)
    refused = ledger_events(offline)
    assert [(e.actor, e.channel, e.details["attempted"], e.details["reason"]) for e in refused] == [
        ("slack:U0NOBODY", "slack", "start s-respond", "not in the roster"),
        ("jay", "slack", "start s-respond", "can_start is false in the roster"),
        ("slack:U0NOBODY", "slack", "freeze", "not in the roster"),
        ("slack:U0NOBODY", "slack", "status", "not in the roster"),
    ]
    assert not offline.incidents("s-respond")
    assert not offline.fake.of("conversations.create")


def test_start_opens_a_form_when_the_playbook_needs_more_and_reports_field_errors(offline):
    fake, agent = offline.fake, offline.agent
    agent.command('start s-form "Bad post"', user="U0ANA", response="form-start")
    view = fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"], what="views.open")[0]
    view = view.params["view"]
    assert view["callback_id"] == START_SUBMIT and len(view["title"]["text"]) <= 24
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert {k: v["type"] for k, v in inputs.items()} == {
        "f:summary": "plain_text_input",
        "f:audience": "static_select",
        "f:reach": "number_input",
        "f:link": "url_text_input",
    }
    assert inputs["f:summary"]["initial_value"] == "Bad post"
    token = view["private_metadata"]
    assert "s-form" not in token and "U0ANA" not in token  # opaque

    bad = agent.submit(
        START_SUBMIT,
        token,
        {
            "f:summary": text_value("Bad post"),
            "f:audience": select_value(None),
            "f:reach": number_value("lots"),
            "f:link": {"value": {"type": "url_text_input", "value": "ftp://x"}},
        },
        user="U0ANA",
        blocks=view["blocks"],
    )
    assert bad.status == 200
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"f:audience": "Required", "f:reach": "Must be a whole number", "f:link": "Must be an http(s) url"},
    }
    assert not offline.incidents("s-form")

    good = agent.submit(
        START_SUBMIT,
        token,
        {"f:summary": text_value("Bad post"), "f:audience": select_value("staff"), "f:reach": number_value("250")},
        user="U0ANA",
        blocks=view["blocks"],
    )
    assert good.status == 200 and good.body == ""
    started = fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-form")[0]
    assert incident.inputs == {"summary": "Bad post", "audience": "staff", "reach": 250, "link": None}
    assert incident.slug in started["text"]
    # The same form cannot start a second incident.
    agent.submit(
        START_SUBMIT,
        token,
        {"f:summary": text_value("Bad post"), "f:audience": select_value("staff"), "f:reach": number_value("250")},
        user="U0ANA",
        blocks=view["blocks"],
    )
    assert len(offline.incidents("s-form")) == 1


def test_war_room_names_are_unique_and_the_status_message_is_pinned(offline):
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    offline.fake.taken.add(f"crisis-{date}-twice")
    offline.agent.command("start s-respond twice", user="U0ANA")
    offline.fake.wait_response(lambda p: "Started" in p.get("text", ""))
    offline.agent.command("start s-respond twice", user="U0BEN")
    offline.fake.wait_response(lambda p: "Started" in p.get("text", ""), after=1)
    names = [(c.params["name"], c.params["is_private"]) for c in offline.fake.of("conversations.create")]
    assert names == [
        (f"crisis-{date}-twice", "1"),
        (f"crisis-{date}-twice-2", "1"),
        (f"crisis-{date}-twice-2", "1"),
        (f"crisis-{date}-twice-2-2", "1"),
    ]
    slugs = sorted(i.slug for i in offline.incidents("s-respond"))
    assert slugs == [f"{date}-twice", f"{date}-twice-2"]
    for incident in offline.incidents("s-respond"):
        room = [e for e in offline.events(incident.id) if e.action == "slack.war_room"][0]
        assert room.details["channel"] == incident.channel
        assert any(
            c.params == {"channel": incident.channel, "timestamp": room.details["status_ts"]}
            for c in offline.fake.of("pins.add")
        )
        assert "U0ANA" in offline.fake.channels[incident.channel]["members"]


def test_status_and_list(offline):
    offline.agent.command("status", user="U0ANA", response="s1")
    assert "No open incidents" in offline.fake.wait_response()["text"]
    offline.agent.command("start s-respond Status check", user="U0ANA")
    offline.fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-respond")[0]
    offline.agent.command("status", user="U0BEN")
    listing = offline.fake.wait_response(lambda p: "Open incidents" in p.get("text", ""))
    assert incident.slug in listing["text"] and LEDGER_PLAYBOOK not in listing["text"]
    offline.agent.command(f"status #crisis-{incident.slug}", user="U0BEN")
    detail = offline.fake.wait_response(lambda p: p.get("blocks") and incident.slug in p.get("text", ""))
    assert detail["blocks"][0]["type"] == "header"
    offline.agent.command("list", user="U0BEN")
    listed = offline.fake.wait_response(lambda p: "Playbooks" in p.get("text", ""))
    assert "`s-form`: Slack form test (needs summary, audience, reach)" in listed["text"]


def test_freeze_is_the_emergency_brake_on_its_own(offline):
    offline.agent.command("freeze offensive reply", user="U0ANA")
    told = offline.fake.wait_response(lambda p: "🧊" in p.get("text", ""))
    assert "post(s) frozen in scope all" in told["text"] and "runbook thaw" in told["text"]
    from runbook.queue import list_freezes

    (freeze,) = list_freezes(offline.services.db)
    assert freeze["actor"] == "ana" and freeze["channel"] == "slack" and freeze["reason"] == "offensive reply"


def test_a_click_on_an_unknown_or_closed_signoff_is_explained(offline):
    answer = offline.agent.click(APPROVE, "not-a-real-token-000", user="U0ANA", response="stale")
    assert answer.status == 200
    assert "no longer open" in offline.fake.wait_response()["text"]


def test_a_long_statement_stays_within_block_kit_limits():
    roster = load_roster(HERE / "roster.yaml")
    services = SimpleNamespace(roster=lambda: roster)
    signoffs = Signoffs(services=services, verbs=None, client=None, outbox=None, refs_=None, access=None)
    statement = "\n\n".join(f"Paragraph {n}. We are sorry & we will fix <this>. " * 12 for n in range(40))
    request = SignoffRequest(
        incident_id="i",
        incident_slug="2024-05-01-x",
        step_id="statement",
        title="Approve",
        prompt=statement,
        signers=["ana", "lea"],
        quorum=2,
        approvals=["ana"],
    )
    fields = {"text": InputField(type=FieldType.text, title="The statement")}
    text, blocks = signoffs.render(request, "tok" * 8, fields)
    assert len(blocks) <= bk.MAX_BLOCKS and bk.size(blocks) <= bk.MAX_TOTAL
    assert all(len(b["text"]["text"]) <= bk.MAX_SECTION for b in blocks if b["type"] == "section")
    assert blocks[-1]["type"] == "actions" and "truncated" in json.dumps(blocks)
    assert "<@U0ANA>, <@U0LEA>" in json.dumps(blocks) and "approvals: 1 of 2 (ana)" in json.dumps(blocks)
    assert "&lt;this&gt;" in json.dumps(blocks) and "<this>" not in json.dumps(blocks)


def test_no_token_or_secret_reaches_the_logs(offline):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    install_redaction(offline.app.settings, [handler])
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        offline.agent.command("start s-respond Logged run", user="U0ANA")
        offline.fake.wait_response(lambda p: "Started" in p.get("text", ""))
        offline.agent.send(
            offline.agent.command_body("help", user="U0ANA"), headers={"X-Slack-Signature": "v0=" + "1" * 64}
        )
        offline.app.relay.poll_once()
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    out = stream.getvalue()
    assert "slack_sdk" in out or "auth.test" in out or "chat.postMessage" in out  # debug logging was on
    for secret in (offline.fake.token, SECRET, VERIFICATION_TOKEN):
        assert secret not in out


def test_slack_chat_request_signoff_posts_buttons_once_and_clicks_are_checked(offline):
    from runbook.slack.chat import SlackChat

    offline.agent.command("start s-respond Chat port", user="U0ANA")
    offline.fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-respond")[0]
    chat = SlackChat(
        outbox=offline.app.outbox, db=offline.services.db, incident_id=incident.id, signoffs=offline.app.signoffs
    )
    request = SignoffRequest(
        incident_id=incident.id,
        incident_slug=incident.slug,
        step_id="go-ahead",
        title="Go ahead?",
        prompt="Go ahead with <it> & more?",
        signers=["ana", "ben"],
    )
    key = f"{incident.id}:go-ahead:signoff:0"
    ref = chat.request_signoff(None, request, key=key)
    assert chat.request_signoff(None, request, key=key) == ref  # once per key
    offline.app.relay.poll_once()
    with_buttons = [
        c
        for c in offline.fake.posts(incident.channel)
        if any(b["type"] == "actions" for b in c.params.get("blocks") or [])
    ]
    assert len(with_buttons) == 1  # the relay saw it delivered and did not post it again
    token = with_buttons[0].params["blocks"][-1]["elements"][0]["value"]
    recorded = [e for e in offline.events(incident.id) if e.action == "chat.posted" and e.details["key"] == key]
    assert recorded[0].details["slack"]["token"] == token

    offline.agent.click(APPROVE, token, user="U0NOBODY", channel=incident.channel, response="nobody")
    assert "not in the incident roster" in offline.fake.wait_response(lambda p: "roster" in p.get("text", ""))["text"]
    refusal = offline.wait_event(incident.id, "slack.refused", step="go-ahead")
    assert refusal.details == {"slack_user": "U0NOBODY", "attempted": "signoff.approve", "reason": "not in the roster"}
    # A roster person's click reaches the engine's verbs; here there is no flow run to resume.
    offline.agent.click(APPROVE, token, user="U0ANA", channel=incident.channel, response="ana")
    told = offline.fake.wait_response(lambda p: p.get("text", "").startswith("Not recorded"))
    assert "has no flow run yet" in told["text"] and "/crisis status" in told["text"]
