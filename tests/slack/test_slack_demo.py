"""The shipped demo incident (US Airways, `runbook demo`'s default) started from the CLI while the
Slack app runs: it gets a war room of its own, the room holds people's messages only (within a
stated budget), the audit echo goes to the pinned status's thread, and the pinned status never
shows a step going backwards and links the Prefect flow run.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.slack.conftest import serve, slack_settings, stop

pytestmark = pytest.mark.prefect

# What the room may hold for this incident: the status, the step messages people act on (freeze,
# assessment, briefing, deletion, statement, replies, thaw, review), one request per sign-off round
# and one line per decision that did not complete a gate, and the close-out. docs/slack.md.
BUDGET = 24
RANK = {"▫️": 0, "⏳": 1, "✋": 1, "✅": 2, "⏭️": 2, "❌": 2}


@pytest.fixture
def slack_on_engine(engine, fake):  # noqa: F811 - the session's engine fixture (tests.slack.conftest)
    from runbook.engine.services import Services

    settings = slack_settings(engine.services.settings, fake)
    services = Services(settings=settings, db=engine.services.db, kinds=engine.services.kinds)
    h = serve(settings, services, fake, relay_interval=0.2, interval=0.01)
    yield h
    stop(h)


def marks(text: str) -> dict[str, int]:
    return {step: RANK[mark] for mark, step in re.findall(r"(▫️|⏳|✋|✅|⏭️|❌) `([a-z0-9-]+)`", text)}


def test_the_demo_incident_from_the_cli_gets_a_quiet_war_room(engine, slack_on_engine):
    from runbook.audit import get_incident
    from runbook.engine.demo import SCENARIOS, play

    fake = slack_on_engine.fake
    incident = play(services=engine.services, scenario=SCENARIOS["us-airways"], timeout=600)
    assert incident.status == "completed"
    room = get_incident(engine.services.db, incident.id).channel
    assert room and room.startswith("C"), "a CLI-started incident gets a war room when Slack is configured"
    status_ts = next(c.params["timestamp"] for c in fake.of("pins.add") if c.params["channel"] == room)
    fake.wait_for(
        lambda calls: "completed" in fake.messages[(room, status_ts)]["text"], timeout=60, what="the final status"
    )
    fake.wait_for(
        lambda calls: any("playbook is complete" in c.params.get("text", "") for c in fake.posts(room)),
        timeout=60,
        what="the close-out",
    )
    time.sleep(1.0)  # the last echo lines

    top = [c for c in fake.posts(room) if not c.params.get("thread_ts")]
    thread = [c for c in fake.posts(room) if c.params.get("thread_ts")]
    texts = [c.params.get("text", "") for c in top]
    assert len(top) <= BUDGET, texts
    # No audit echo and no checkpoint line in the room: they are in the status's thread.
    assert not any(re.search(r"\*(signoff|step|incident)\.[a-z_]+\*|Audit checkpoint", t) for t in texts), texts
    assert thread and all(c.params["thread_ts"] == status_ts for c in thread)
    echoed = " ".join(c.params.get("text", "") for c in thread)
    assert "incident.started" in echoed and "Audit checkpoint" in echoed
    # Errors, if any, are sentences: never a traceback or SQL.
    assert not any("Traceback" in t or "SELECT " in t for t in texts)

    # Everyone convened was invited, not only the signers.
    convened = next(e for e in engine.events(incident) if e.action == "convene.requested").details["people"]
    roster = engine.services.roster()
    invited = {
        u for c in fake.of("conversations.invite") if c.params["channel"] == room for u in c.params["users"].split(",")
    }
    assert {roster.person(p).slack_id for p in convened if roster.person(p).slack_id} <= invited

    # The pinned status: every version in order, no step ever goes back; it links the flow run.
    versions = [
        c.params.get("blocks")
        for c in fake.of("chat.update")
        if c.params.get("channel") == room and c.params.get("ts") == status_ts and c.status == 200
    ]
    assert len(versions) >= 3
    best: dict[str, int] = {}
    for blocks in versions:
        for step, rank in marks(json.dumps(blocks, ensure_ascii=False)).items():
            assert rank >= best.get(step, 0), (step, best, rank)
            best[step] = rank
    final = json.dumps(versions[-1], ensure_ascii=False)
    assert f"/runs/flow-run/{incident.flow_run_id}" in final
    assert all(rank == 2 for rank in marks(final).values())
