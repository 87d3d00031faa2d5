"""A whole drill, unattended: `--auto textbook` on the US Airways scenario through the real engine
(Prefect harness + worker), its sign-offs, the Slack app against the local fake Slack (the drill's
war room and banner), the public reacting, the score and the report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

pytestmark = pytest.mark.prefect


def test_auto_drill_on_us_airways_end_to_end(engine, fake, scenarios):
    from prefect.client.orchestration import get_client

    from runbook.audit import events, verify
    from runbook.drill.live import run_drill
    from runbook.drill.policy import find_policy, load_policy
    from runbook.drill.report import history_rows, render_drill, render_history
    from runbook.drill.result import read_drill
    from runbook.engine.services import Services
    from runbook.postmortem import build_report
    from runbook.slack import create_app
    from tests.slack.conftest import slack_settings

    settings = slack_settings(engine.services.settings, fake)
    services = Services(settings=settings, db=engine.services.db, kinds=engine.services.kinds)
    app = create_app(settings=settings, services=services, relay_interval=0.2)
    opened = []

    def open_room(incident):
        opened.append(app.crisis.warrooms.open(incident, people=["ana", "lena", "bram", "noor"]))
        app.relay.watch(incident.id)

    # The US Airways scenario with a tenth of its people over its first 90 minutes: the reply step
    # re-gathers new people every round and ends once the public is quiet, and each sign-off round is
    # a flow process restart; the full scenario at --speed 60 takes its 6 simulated hours.
    full = scenarios["us-airways"]
    scenario = full.model_copy(
        update={
            "duration": timedelta(minutes=90),
            "injects": [i for i in full.injects if i.at < timedelta(minutes=90)],
            "audiences": [a.model_copy(update={"size": max(1, a.size // 10)}) for a in full.audiences],
        }
    )
    try:
        run = run_drill(
            services=services,
            scenario=scenario,
            seed=3,
            speed=60,
            policy=load_policy(find_policy("textbook")),
            requester="ana",
            timeout=420,
            on_start=open_room,
        )
    finally:
        app.close()
    incident = run.incident
    trail = events(services.db, incident.id)
    assert incident.status == "completed", [(e.action, e.step) for e in trail if e.action != "chat.posted"]

    # Flagged as a drill everywhere: the incident, its title, the Prefect run's tags, the Slack room and banner.
    assert incident.kind == "drill" and incident.title.startswith("[DRILL] ")
    with get_client(sync_client=True) as client:
        assert "drill" in client.read_flow_run(incident.flow_run_id).tags
    assert opened and opened[0].name.startswith("drill-")
    assert any("DRILL" in (c.params.get("text") or "") for c in fake.of("chat.postMessage"))

    # Sign-offs went through the engine and were authorised against the roster (two for the statement).
    approved = [e for e in trail if e.action == "signoff.approved"]
    assert {e.step for e in approved} >= {"freeze", "delete-decision", "statement", "publish", "replies", "review"}
    assert len({e.actor for e in approved if e.step == "statement"}) == 2
    assert verify(services.db, incident.id).ok

    # What the public saw is evidence; replaying it reproduces the network's mentions exactly.
    result = read_drill(services.db, incident.id)
    kinds = {a.kind for a in result.actions}
    assert {"freeze", "statement", "reply"} <= kinds
    assert result.verified and result.replay_identical
    assert len(result.mentions) > 20
    # A live textbook drill does far better than doing nothing; each component is shown.
    assert result.score.total > 40, result.score.to_json()["components"]
    assert {c.name for c in result.score.components} == {
        "freeze",
        "statement",
        "first_reply",
        "doctrine",
        "replies",
        "freeze_held",
        "peak",
        "area",
    }
    md = render_drill(result, "md", postmortem=build_report(services.db, incident.id))
    assert md.startswith("# Post-mortem: \\[DRILL\\] ") and "## Drill score" in md and "### Moments that moved it" in md
    assert md.count("- statement at T+") == 1
    html = render_drill(result, "html", postmortem=build_report(services.db, incident.id))
    assert "<svg" in html and "do-nothing" in html
    data = json.loads(render_drill(result, "json"))
    assert data["score"]["total"] == result.score.total
    rows = history_rows(services.db, "us-airways")
    assert [r["incident"] for r in rows] == [incident.slug]
    assert incident.slug in render_history(rows, "md")
