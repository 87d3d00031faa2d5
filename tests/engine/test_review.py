"""The "after"-gate review loop: a granted sign-off of a `rerun_after_signoff` kind is applied by
calling the kind again (its own task and audit key per round); while the outputs await review the
gate opens again; `check_decision` refuses a ballot before it counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect


def test_after_gate_is_applied_in_rounds_once_each(engine):
    incident = engine.start("t-review", {}, requester="ron")
    engine.approve(incident, "batch", "alma", fields={"note": "bad"})  # refused by the kind's check
    engine.approve(incident, "batch", "alma", fields={"note": "again"})  # applied; asks for another round
    engine.wait_for(incident, "signoff.requested", step="batch", count=2)
    # As the Slack app sends it: attested with the Slack user id of the signed click.
    engine.approve(
        incident,
        "batch",
        "ben",
        fields={"note": "done"},
        channel="slack",
        evidence={"method": "slack-signature", "slack_user": "U0BEN"},
    )
    closed = engine.wait_closed(incident)
    assert closed.status == "completed", engine.trail(incident)

    trail = [(a, s) for a, s, _ in engine.trail(incident) if s == "batch"]
    assert trail == [
        ("step.started", "batch"),
        ("step.finished", "batch"),
        ("signoff.requested", "batch"),
        ("signoff.refused", "batch"),
        ("signoff.approved", "batch"),
        ("signoff.granted", "batch"),
        ("step.started", "batch"),
        ("step.applied", "batch"),
        ("signoff.requested", "batch"),
        ("signoff.approved", "batch"),
        ("signoff.granted", "batch"),
        ("step.started", "batch"),
        ("step.applied", "batch"),
    ]
    events = engine.events(incident)
    refused = next(e for e in events if e.action == "signoff.refused")
    assert "a bad note" in refused.details["reason"]
    applied = [e for e in events if e.action == "step.applied"]
    assert [e.details["review"] for e in applied] == [0, 1]
    assert applied[-1].details["outputs"]["applied"] == ["again", "done"]
    assert applied[-1].details["approvers"] == ["ben"]
    reopened = [e for e in events if e.action == "signoff.requested" and e.step == "batch"][1]
    assert reopened.details["review"] == 1 and reopened.details["prompt"] == "round 1 for people"

    # The effect happened exactly once per round, with the decision the kind was promised.
    ledger = Path(engine.services.settings.home) / "reviews.jsonl"
    mine = [json.loads(line) for line in ledger.read_text().splitlines() if line.startswith(f'{{"key": "{incident.id}')]
    assert [(r["note"], r["person"], r["approvers"], r["channel"]) for r in mine] == [
        ("again", "alma", ["alma"], "cli"),
        ("done", "ben", ["ben"], "slack"),
    ]
    # Each round ran as its own task, named after the step.
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    wanted = {"batch-apply-0", "batch-apply-1", "batch-signoff-review-1"}
    end = time.monotonic() + 20  # task runs reach the server through events, a moment later
    with get_client(sync_client=True) as client:
        while True:
            names = {
                t.name
                for t in client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[closed.flow_run_id]))
                )
            }
            if wanted <= names or time.monotonic() > end:
                break
            time.sleep(0.5)
    assert wanted <= names
