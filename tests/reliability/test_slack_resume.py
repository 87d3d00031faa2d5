"""The Resume button on a failure message, through signed requests into the real Slack app (fake
Slack Web API on loopback): a stranger's click is refused and recorded, a roster person's click
resumes the incident (audited, channel slack), a second click finds nothing to resume."""

from __future__ import annotations

from runbook import audit
from runbook.engine import commands
from runbook.engine.resume import resume as engine_resume
from runbook.slack.resume import RESUME
from tests.slack.conftest import fake, offline_services, serve, slack_settings, stop  # noqa: F401 - fixtures


class Verbs:
    """The engine's verbs; resuming creates no flow run (no Prefect in this test)."""

    CommandError = commands.CommandError
    status = staticmethod(commands.status)

    @staticmethod
    def resume(**kwargs):  # noqa: ANN003, ANN205
        return engine_resume(**kwargs, create_run=False)


def _failed_incident(services):  # noqa: ANN001, ANN202
    started = commands.start(
        services=services,
        playbook_ref="s-respond",
        inputs={"summary": "bad post"},
        requester="ana",
        channel="C0ROOM",
        create_run=False,
    )
    incident = started.incident
    audit.append(
        services.db,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="step.failed",
        step="hello",
        details={"error": "RuntimeError: the network refused"},
    )
    audit.update_incident(
        services.db,
        incident.id,
        status="failed",
        event={
            "actor": "system",
            "channel": "flow",
            "action": "incident.failed",
            "details": {"outcome": "failed", "reason": "hello: RuntimeError", "step": "hello"},
        },
    )
    return incident


def test_the_resume_button_resumes_a_failed_incident(offline_services, fake) -> None:  # noqa: ANN001, F811
    settings = slack_settings(offline_services.settings, fake)
    offline_services.settings = settings
    h = serve(settings, offline_services, fake, verbs=Verbs, relay=False, interval=0.05)
    try:
        incident = _failed_incident(offline_services)
        chat = offline_services.chat(incident.id)
        chat.post_failure(
            "C0ROOM",
            f"{incident.slug}: failed (hello: RuntimeError)",
            incident_id=incident.id,
            step_id="hello",
            key=f"{incident.id}:closed",
        )
        [message] = [c for c in fake.posts("C0ROOM") if "failed" in c.params.get("text", "")]
        blocks = message.params["blocks"]
        blocks = blocks if isinstance(blocks, list) else __import__("json").loads(blocks)
        [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        assert button["action_id"] == RESUME and incident.id not in button["value"]  # an opaque token

        h.agent.click(RESUME, button["value"], user="U0NOBODY", channel="C0ROOM", response="stranger")
        told = fake.wait_response(lambda p: "not in the incident roster" in p.get("text", ""))
        assert "not resumed" in told["text"]
        refused = h.wait_event(incident.id, "slack.refused")
        assert refused.details["attempted"] == "incident.resume"
        assert audit.get_incident(offline_services.db, incident.id).status == "failed"

        h.agent.click(RESUME, button["value"], user="U0ANA", channel="C0ROOM", response="ana")
        fake.wait_response(lambda p: "resumed from `hello` by ana" in p.get("text", ""))
        event = h.wait_event(incident.id, "incident.resumed")
        assert (event.actor, event.channel, event.details["from"]) == ("ana", "slack", "hello")
        assert audit.get_incident(offline_services.db, incident.id).status == "running"

        h.agent.click(RESUME, button["value"], user="U0BEN", channel="C0ROOM", response="again")
        fake.wait_response(lambda p: "not failed any more" in p.get("text", ""))
        assert [e.action for e in h.events(incident.id)].count("incident.resumed") == 1
        assert audit.verify(offline_services.db, incident.id).ok
    finally:
        stop(h)
