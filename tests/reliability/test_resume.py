"""`runbook resume` on the real engine: an incident fails at a step whose channel errors once; after
the fix it is resumed and completes. Side effects that happened are not repeated, the granted
sign-off of the failed step is not asked again, and one continuous audit chain verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook import audit
from runbook.engine import commands
from runbook.engine.resume import resume

PLAYBOOK = str(Path(__file__).parent / "playbooks" / "t-resume.yaml")


def _lines(path: Path, needle: str) -> int:
    return sum(needle in line for line in path.read_text().splitlines()) if path.exists() else 0


def test_a_failed_incident_resumes_and_completes_without_repeating_side_effects(engine) -> None:  # noqa: ANN001
    incident = engine.start(PLAYBOOK, title="resume me")
    engine.wait_for(incident, "signoff.requested", step="approve-it")
    engine.approve(incident, "approve-it", "ana")
    engine.wait_for(incident, "signoff.requested", step="send")
    engine.approve(incident, "send", "bram")
    assert engine.wait_closed(incident).status == "failed"
    home = Path(engine.services.settings.home)
    assert _lines(home / "attempts.log", f"{incident.id}:effect:customer-1") == 1

    with pytest.raises(commands.CommandError, match="unknown-step|no step 'nope'"):
        resume(services=engine.services, incident_ref=incident.slug, person="ana", from_step="nope")
    resumed = resume(services=engine.services, incident_ref=incident.slug, person="ana", reason="channel fixed")
    assert resumed.start_at == "send" and resumed.failed_step == "send" and resumed.generation == 1
    assert resumed.kept == ["effect", "approve-it"] and resumed.fresh == ["send", "after"]
    assert resumed.flow_run_id and resumed.flow_run_id != incident.flow_run_id
    closed = engine.wait_closed(incident)
    assert closed.status == "completed", engine.trail(incident)

    # Side effects: the first effect ran once (not again on resume), the one after the failure once.
    assert _lines(home / "attempts.log", f"{incident.id}:effect:customer-1") == 1
    assert _lines(home / "attempts.log", f"{incident.id}:after:customer-2") == 1
    effects = [json.loads(line)["key"] for line in (home / "effects.jsonl").read_text().splitlines()]
    mine = [k for k in effects if k.startswith(incident.id)]
    assert sorted(mine) == [f"{incident.id}:after:customer-2", f"{incident.id}:effect:customer-1"]

    trail = [(a, s) for a, s, _ in engine.trail(incident)]
    assert trail.count(("signoff.requested", "send")) == 1  # its granted sign-off stands
    assert trail.count(("signoff.requested", "approve-it")) == 1
    assert trail.count(("step.failed", "send")) == 1 and trail.count(("step.finished", "send")) == 1
    assert trail.count(("step.finished", "effect")) == 1 and trail.count(("step.finished", "after")) == 1
    assert [a for a, _ in trail if a.startswith("incident.")] == [
        "incident.started",
        "incident.failed",
        "incident.resumed",
        "incident.completed",
    ]
    event = next(e for e in engine.events(incident) if e.action == "incident.resumed")
    assert event.actor == "ana" and event.details["reason"] == "channel fixed"
    report = audit.verify(engine.services.db, incident.id)
    assert report.ok and report.problems == []

    with pytest.raises(commands.CommandError, match="is completed: only a failed incident can be resumed"):
        resume(services=engine.services, incident_ref=incident.slug, person="ana")
