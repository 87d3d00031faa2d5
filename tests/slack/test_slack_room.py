"""The war room for people (no Prefect): `/crisis start` with `post=URL` and `key=value` inputs (a
pre-filled form when something is missing), `/crisis cancel`, the briefing's Acknowledge button,
the audit echo in the pinned status's thread, and a step's failure told in one sentence.
"""

from __future__ import annotations

import json
from datetime import timedelta

from runbook.audit import append
from runbook.slack.relay import ACKNOWLEDGE

POST = "https://social.example/x/brand/991"


def test_post_url_reaches_the_assessment(offline):
    from runbook.engine.context import Run
    from runbook.engine.execute import execute_step
    from runbook.engine.record import Recorder
    from runbook.listen.refs import post_ref

    offline.agent.command(f'start s-assess "Offensive reply" post=<{POST}>', user="U0ANA", response="go")
    offline.fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-assess")[0]
    assert incident.inputs["offending_post"] == POST and incident.inputs["summary"] == "Offensive reply"
    # The assessment, run as the flow would, sees the post.
    from runbook.engine.commands import plan_for

    services = offline.services
    plan = plan_for(services=services, playbook_ref="s-assess", inputs=incident.inputs, requester="ana")
    run = Run(
        services=services,
        incident=incident,
        plan=plan,
        chat=services.chat(incident.id),
        record=Recorder(db=services.db, incident_id=incident.id),
    )
    outputs = execute_step(run, plan.step("assess"), decision=None)
    assert outputs["offending_post"]["ref"] == post_ref(POST)


def test_key_values_prefill_the_form_and_unknown_inputs_are_named(offline):
    fake, agent = offline.fake, offline.agent
    agent.command(f"start s-form Bad post reach=40 post={POST}", user="U0ANA", response="form")
    view = fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"], what="views.open")[0]
    inputs = {b["block_id"]: b["element"] for b in view.params["view"]["blocks"] if b["type"] == "input"}
    assert inputs["f:summary"]["initial_value"] == "Bad post"
    assert inputs["f:link"]["initial_value"] == POST
    assert str(inputs["f:reach"]["initial_value"]) == "40"
    agent.command("start s-form Bad post colour=red", user="U0ANA", response="bad")
    told = fake.wait_response(lambda p: "no input" in p.get("text", ""))
    assert "`s-form` has no input `colour`" in told["text"] and "summary, audience, reach, link" in told["text"]


def test_cancel_from_slack(offline):
    fake, agent = offline.fake, offline.agent
    agent.command("start s-respond To be cancelled", user="U0ANA")
    fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-respond")[0]
    answer = agent.command(f"cancel {incident.slug}", user="U0ANA", response="no-reason")
    assert "say why" in answer.json()["text"]
    agent.command(f"cancel {incident.slug} false alarm", user="U0ANA", response="cancel")
    told = fake.wait_response(lambda p: "Cancelled" in p.get("text", ""))
    assert incident.slug in told["text"]
    assert offline.incident(incident.id).status == "cancelled"
    cancelled = offline.wait_event(incident.id, "incident.cancelled")
    assert (cancelled.actor, cancelled.channel, cancelled.details["reason"]) == ("ana", "slack", "false alarm")


def test_convened_people_are_invited_and_acknowledge_with_a_button(offline):
    from runbook.listen.convene import ack_status, request_acks

    fake, agent, services = offline.fake, offline.agent, offline.services
    agent.command("start s-respond Convene test", user="U0ANA")
    fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-respond")[0]
    room = offline.incident(incident.id).channel
    # What convene_teams does: ask Sam (not a signer) to join, post the briefing, audit the request.
    request_acks(
        services.db,
        incident_id=incident.id,
        step_id="convene",
        people=[("sam", "marketing")],
        within=timedelta(minutes=15),
    )
    append(
        services.db,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="chat.posted",
        step="convene",
        details={
            "key": f"{incident.id}:convene:briefing",
            "channel": None,
            "kind": "message",
            "text": "Briefing: you are convened for this incident.",
        },
    )
    append(
        services.db,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="convene.requested",
        step="convene",
        details={"people": ["sam"], "teams": ["marketing"]},
    )
    briefing = fake.wait_for(
        lambda calls: [c for c in fake.posts(room) if "Briefing" in c.params.get("text", "")], what="the briefing"
    )[0]
    fake.wait_for(
        lambda calls: any(
            c.params["channel"] == room and "U0SAM" in c.params["users"] for c in fake.of("conversations.invite")
        ),
        what="Sam invited",
    )
    button = next(e for b in briefing.params["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert (button["action_id"], button["text"]["text"]) == (ACKNOWLEDGE, "Acknowledge")

    agent.click(ACKNOWLEDGE, button["value"], user="U0STRANGER", channel=room, response="stranger")
    assert "not in the incident roster" in fake.wait_response(lambda p: "roster" in p.get("text", ""))["text"]
    agent.click(ACKNOWLEDGE, button["value"], user="U0SAM", channel=room, response="sam")
    assert "you are on" in fake.wait_response(lambda p: "you are on" in p.get("text", ""))["text"]
    acked = offline.wait_event(incident.id, "convene.acknowledged")
    assert (acked.actor, acked.channel) == ("sam", "slack")
    assert [r.acked_via for r in ack_status(services.db, incident.id, "convene")] == ["slack"]
    agent.click(ACKNOWLEDGE, button["value"], user="U0BEN", channel=room, response="ben")
    assert "not asked" in fake.wait_response(lambda p: "not asked" in p.get("text", ""))["text"]


def test_the_audit_echo_is_a_thread_under_the_status_and_a_failure_is_one_sentence(offline):
    from runbook.engine.runner import closing_line

    fake, agent = offline.fake, offline.agent
    agent.command("start s-respond Echo test", user="U0ANA")
    fake.wait_response(lambda p: "Started" in p.get("text", ""))
    incident = offline.incidents("s-respond")[0]
    room = offline.incident(incident.id).channel
    status_ts = next(c.params["timestamp"] for c in fake.of("pins.add") if c.params["channel"] == room)
    reason = "hello: OperationalError: (sqlite3.OperationalError) no such table: posts [SQL: SELECT * FROM posts]"
    append(
        offline.services.db,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="chat.posted",
        details={
            "key": f"{incident.id}:closed",
            "channel": None,
            "kind": "message",
            "text": closing_line(incident.slug, "failed", reason, "hello"),
        },
    )
    append(
        offline.services.db,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="chat.posted",
        details={
            "key": f"{incident.id}:hello:checkpoint",
            "channel": None,
            "kind": "message",
            "text": "hello: sign-off granted. Audit checkpoint: seq 3, head 0123",
        },
    )
    stopped = fake.wait_for(
        lambda calls: [c for c in fake.posts(room) if "stopped" in c.params.get("text", "")], what="the failure line"
    )[0]
    text = stopped.params["text"]
    assert "OperationalError" in text and "SQL" not in text and "sqlite3" not in text and "runbook status" in text
    assert not stopped.params.get("thread_ts")
    fake.wait_for(
        lambda calls: [c for c in fake.posts(room) if "Audit checkpoint" in c.params.get("text", "")],
        what="the checkpoint",
    )
    for call in fake.posts(room):
        said = call.params.get("text", "")
        if "incident.started" in said or "Audit checkpoint" in said:
            assert call.params.get("thread_ts") == status_ts, said
    assert json.dumps(fake.messages[(room, status_ts)]["blocks"]).count("incident.started") == 0


def test_a_step_in_the_pinned_status_never_goes_back():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from runbook.slack.status import step_states

    order = {"pending": 0, "running": 1, "waiting": 1, "completed": 2, "skipped": 2, "failed": 2}
    at = datetime(2026, 5, 1, tzinfo=UTC)

    def ev(action, step=None, **details):
        return SimpleNamespace(action=action, step=step, details=details, seq=0, ts=at, actor="system", channel="flow")

    trail = [
        ev("incident.started", steps=["freeze", "decide", "publish"]),
        # freeze: immediate, then confirmed by an "after" gate
        ev("step.started", "freeze"),
        ev("step.finished", "freeze"),
        ev("signoff.requested", "freeze"),
        ev("signoff.granted", "freeze"),
        # decide: a "before" gate, granted, then the work
        ev("signoff.requested", "decide"),
        ev("signoff.granted", "decide"),
        ev("step.started", "decide"),
        ev("step.finished", "decide"),
        # publish: retried after a failed attempt
        ev("step.started", "publish"),
        ev("step.started", "publish"),
        ev("step.finished", "publish"),
    ]
    best: dict[str, int] = {}
    for n in range(1, len(trail) + 1):
        _, state, _ = step_states(trail[:n])
        for step, value in state.items():
            assert order[value] >= best.get(step, 0), (n, step, value)
            best[step] = order[value]
    _, state, pending = step_states(trail)
    assert state == {"freeze": "completed", "decide": "completed", "publish": "completed"} and pending == {}
    _, state, pending = step_states(trail[:4])
    assert state["freeze"] == "completed" and "freeze" in pending  # done, its confirmation listed below
