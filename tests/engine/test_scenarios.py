"""The three incidents of the doctrine, end to end on the shipped playbooks and roster, with the
demo's scripted sign-offs; each audit trail is asserted and verified."""

from __future__ import annotations

import pytest

from runbook.audit import checkpoints, verify
from runbook.engine.demo import SCENARIOS, play

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def played(engine):
    """The three incidents run side by side (most of a sign-off round is waiting for a flow
    process to start), each test then checks its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures = {name: pool.submit(play, services=engine.services, scenario=scenario, timeout=400)
                   for name, scenario in SCENARIOS.items()}
        yield futures


def run(engine, played, name: str):
    incident = played[name].result()
    events = engine.events(incident)
    report = verify(engine.services.db, incident.id)
    assert report.ok, report
    return incident, events


def step_actions(events, step: str) -> list[str]:
    return [e.action for e in events if e.step == step and e.action != "chat.posted"]


def test_us_airways_offensive_media(engine, played):
    incident, events = run(engine, played, "us-airways")
    assert incident.status == "completed"
    # The deletion decision is explicit and audited, with who made it.
    decision = next(e for e in events if e.step == "delete-decision" and e.action == "signoff.approved")
    assert decision.actor == "bram" and decision.details["fields"]["choice"] == "delete"
    # Severity high convenes management; no staff involved: HR is skipped.
    assert step_actions(events, "convene-management") == ["step.started", "step.finished"]
    assert step_actions(events, "convene-hr") == ["step.skipped"]
    # The statement needs two people, and the requester (ana) is refused by the two-person rule.
    statement = [(e.action, e.actor) for e in events if e.step == "statement" and e.action.startswith("signoff.")]
    assert statement == [("signoff.requested", "system"), ("signoff.refused", "ana"), ("signoff.approved", "lena"),
                         ("signoff.approved", "bram"), ("signoff.granted", "system")]
    finished = next(e for e in events if e.step == "statement" and e.action == "step.finished")
    assert finished.details["outputs"]["complete"] is True
    # Every sign-off anchored the chain: one checkpoint per granted gate, plus the close.
    granted = sum(1 for e in events if e.action == "signoff.granted")
    assert len(checkpoints(engine.services.db, incident.id)) >= granted + 1
    assert events[-1].action in ("incident.completed", "chat.posted")


def test_red_cross_wrong_account_post(engine, played):
    incident, events = run(engine, played, "red-cross")
    assert incident.status == "completed"
    assert [e.actor for e in events if e.step == "delete-decision" and e.action == "signoff.approved"] == ["sam"]
    assert step_actions(events, "connected-accounts")[-1] == "step.finished"
    granted = next(e for e in events if e.step == "statement" and e.action == "signoff.granted")
    assert "confiscated the keys" in granted.details["fields"]["text"]


def test_digiorno_hashtag_answer_everyone(engine, played):
    incident, events = run(engine, played, "digiorno")
    assert incident.status == "completed"
    approvers = next(e for e in events if e.step == "statement" and e.action == "signoff.granted").details["approvers"]
    assert sorted(approvers) == ["ana", "lena"] and incident.requester not in approvers
    replies = next(e for e in events if e.step == "replies" and e.action == "signoff.granted")
    assert replies.details["fields"]["answered"] == 120
    order = [e.step for e in events if e.action == "step.finished"]
    assert order.index("statement") < order.index("publish") < order.index("replies") < order.index("review")
