"""The respond flow on the real Prefect engine, with a resumer beside it (Prefect's own pause-test
pattern): every test asserts the audit trail, not only the final state."""

from __future__ import annotations

import pytest

from runbook.audit import verify
from runbook.engine.commands import CommandError

pytestmark = pytest.mark.prefect


def actions(engine, incident, *, step: str | None = None) -> list[str]:
    return [a for a, s, _ in engine.trail(incident) if step is None or s == step]


def decisions(engine, incident, step: str) -> list[tuple[str, str, str]]:
    """(action, actor, reason) of every decision on `step`."""
    return [
        (e.action, e.actor, e.details.get("reason", ""))
        for e in engine.events(incident)
        if e.step == step
        and e.action in ("signoff.approved", "signoff.refused", "signoff.rejected", "signoff.timed_out")
    ]


def test_approve_runs_the_step_and_records_who_where_and_the_run_ids(engine):
    incident = engine.start("t-gate", {"summary": "approve test"})
    engine.approve(incident, "go-ahead", "alma", fields={"choice": "proceed"}, comment="fine by me")
    closed = engine.wait_closed(incident)

    assert closed.status == "completed"
    assert actions(engine, incident) == [
        "incident.started",
        "flow.launched",  # by `start`, with the incident's flow_run_id (one transaction)
        "flow.started",
        "step.started",
        "step.finished",  # hello
        "signoff.requested",
        "signoff.approved",
        "signoff.granted",
        "step.started",
        "step.finished",  # go-ahead, after its gate
        "step.started",
        "step.finished",  # done
        "incident.completed",
    ]
    approved = next(e for e in engine.events(incident) if e.action == "signoff.approved")
    assert (approved.actor, approved.channel) == ("alma", "cli")
    assert approved.details["comment"] == "fine by me" and approved.details["fields"] == {"choice": "proceed"}
    finished = [e for e in engine.events(incident) if e.action == "step.finished"]
    assert finished[1].details["outputs"] == {"choice": "proceed"}
    assert finished[2].details["outputs"]["text"] == "Decision: proceed"  # outputs feed later templates
    for event in engine.events(incident)[1:]:  # everything after the start happened in the flow run
        if event.action == "identity.attested":  # ...but the CLI's attestation of its decision
            assert event.details["method"] == "os-user" and event.channel == "cli"
            continue
        assert event.details["flow_run_id"] == closed.flow_run_id
    assert all("task_run_id" in e.details for e in engine.events(incident) if e.action.startswith("step."))
    report = verify(engine.services.db, incident.id)
    assert report.ok, report
    assert engine.flow_state(incident) == "Completed"
    # The Prefect UI shows a markdown artifact per step (tied to its task run) and the progress.
    kinds = artifacts_of(closed.flow_run_id)
    assert {f"{closed.slug}-hello", f"{closed.slug}-go-ahead", f"{closed.slug}-done"} <= {
        k for k, t, _ in kinds if t == "markdown"
    }
    assert all(task_run for _, t, task_run in kinds if t == "markdown")
    assert any(t == "progress" and k == f"{closed.slug}-progress" for k, t, _ in kinds)


def artifacts_of(flow_run_id: str) -> list[tuple[str, str, str | None]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return [(a.key, a.type, a.task_run_id) for a in found]


def test_reject_stops_the_playbook(engine):
    incident = engine.start("t-gate", {"summary": "reject test"})
    engine.approve(incident, "go-ahead", "ben", approve=False, comment="not like this")
    closed = engine.wait_closed(incident)

    assert closed.status == "failed"
    assert decisions(engine, incident, "go-ahead") == [("signoff.rejected", "ben", "rejected by ben")]
    assert "step.started" not in actions(engine, incident, step="go-ahead")
    assert "done" not in {s for _, s, _ in engine.trail(incident)}
    failed = next(e for e in engine.events(incident) if e.action == "incident.failed")
    assert failed.details["outcome"] == "rejected" and failed.details["step"] == "go-ahead"
    assert engine.flow_state(incident) == "Rejected"


def test_quorum_of_two_needs_two_different_people_and_never_the_requester(engine):
    # alma started it: under not_requester her approval must not count.
    incident = engine.start("t-quorum", {"summary": "quorum test"}, requester="alma")
    engine.approve(incident, "statement", "alma")
    engine.approve(incident, "statement", "ben", fields={"text": "We are sorry."})
    engine.approve(incident, "statement", "ben")
    engine.approve(incident, "statement", "sid")  # community manager: not a role of this gate
    engine.approve(incident, "statement", "lea")
    closed = engine.wait_closed(incident)

    assert closed.status == "completed"
    got = decisions(engine, incident, "statement")
    assert [(a, who) for a, who, _ in got] == [
        ("signoff.refused", "alma"),
        ("signoff.approved", "ben"),
        ("signoff.refused", "ben"),
        ("signoff.refused", "sid"),
        ("signoff.approved", "lea"),
    ]
    assert "two-person rule" in got[0][2]
    assert "already approved" in got[2][2]
    assert "holds none of the roles" in got[3][2]
    granted = next(e for e in engine.events(incident) if e.action == "signoff.granted")
    assert granted.details["approvers"] == ["ben", "lea"]
    publish = [e for e in engine.events(incident) if e.action == "step.finished" and e.step == "publish"][0]
    assert publish.details["outputs"]["text"] == "Publishing: We are sorry."  # the approver's field reached it
    assert verify(engine.services.db, incident.id).ok


# The test harness's Prefect server keeps its state in SQLite; under load it has failed this run's
# state change with "database is locked" (Prefect issues 10188, 18934): one rerun, for that only.
@pytest.mark.flaky(reruns=1, only_rerun=["nothing awaits sign-off", "database is locked"])
def test_timeout_escalates_to_a_deputy_who_approves(engine):
    incident = engine.start("t-escalate")
    escalated = engine.wait_for(incident, "signoff.escalated", timeout=60)
    assert "dirk" in escalated.details["to"]  # lea's deputy, besides exec
    engine.approve(incident, "legal-check", "dirk")
    closed = engine.wait_closed(incident)

    assert closed.status == "completed"
    assert actions(engine, incident, step="legal-check") == [
        "signoff.requested",
        "signoff.timed_out",
        "signoff.escalated",
        "signoff.approved",
        "signoff.granted",
        "step.started",
        "step.finished",
    ]
    timed_out = next(e for e in engine.events(incident) if e.action == "signoff.timed_out")
    assert (timed_out.actor, timed_out.channel) == ("system", "flow")
    assert decisions(engine, incident, "legal-check")[-1][:2] == ("signoff.approved", "dirk")
    assert verify(engine.services.db, incident.id).ok


def test_timeout_with_on_timeout_skip_skips_the_step_and_goes_on(engine):
    incident = engine.start("t-skip")
    closed = engine.wait_closed(incident, timeout=90)

    assert closed.status == "completed"
    assert actions(engine, incident, step="optional") == ["signoff.requested", "signoff.timed_out", "step.skipped"]
    skipped = next(e for e in engine.events(incident) if e.action == "step.skipped")
    assert "on_timeout: skip" in skipped.details["reason"]
    assert actions(engine, incident, step="after") == ["step.started", "step.finished"]


def test_a_false_when_condition_skips_the_step(engine):
    incident = engine.start("t-when", {"staff": "false"})
    closed = engine.wait_closed(incident)

    assert closed.status == "completed"
    assert actions(engine, incident, step="hr") == ["step.skipped"]
    skipped = next(e for e in engine.events(incident) if e.action == "step.skipped")
    assert skipped.details["reason"] == "condition is false: inputs.staff"
    echo = next(e for e in engine.events(incident) if e.action == "step.finished" and e.step == "echo")
    assert echo.details["outputs"]["text"] == "echo skipped"  # steps.hr.status seen by a later step


def test_a_failing_step_is_retried_then_fails_the_incident(engine):
    incident = engine.start("t-retry")
    closed = engine.wait_closed(incident)

    assert closed.status == "failed"
    assert actions(engine, incident, step="flaky") == [
        "step.started",
        "step.attempt_failed",
        "step.started",
        "step.attempt_failed",
        "step.started",
        "step.finished",
    ]
    assert actions(engine, incident, step="broken") == [
        "step.started",
        "step.attempt_failed",
        "step.started",
        "step.failed",
    ]
    failed = next(e for e in engine.events(incident) if e.action == "step.failed")
    assert failed.details["attempt"] == 2 and "flaky failure 2 of 99" in failed.details["error"]
    closing = next(e for e in engine.events(incident) if e.action == "incident.failed")
    assert closing.details["step"] == "broken"
    assert "never" not in {s for _, s, _ in engine.trail(incident)}
    assert engine.flow_state(incident) == "Failed"


def test_approve_refuses_unknown_incident_person_step_and_field(engine):
    from runbook.engine import commands

    incident = engine.start("t-gate", {"summary": "errors test"})
    with pytest.raises(CommandError, match="step go-ahead is not awaiting sign-off"):
        engine.approve(incident, "go-ahead", "alma", fields={"choice": "hold"}, wait=0.5)  # not reached yet
    with pytest.raises(CommandError, match="no incident 'nope'"):
        commands.approve(services=engine.services, incident_ref="nope", step_id="go-ahead", person="alma")
    with pytest.raises(CommandError, match="'zed' is not in the roster"):
        engine.approve(incident, "go-ahead", "zed")
    with pytest.raises(CommandError, match="no step 'nope'"):
        engine.approve(incident, "nope", "alma")
    with pytest.raises(CommandError, match="step hello has no sign-off"):
        engine.approve(incident, "hello", "alma")
    with pytest.raises(CommandError, match="field choice: must be one of proceed, hold"):
        engine.approve(incident, "go-ahead", "alma", fields={"choice": "maybe"})
    engine.approve(incident, "go-ahead", "alma", fields={"choice": "hold"})
    engine.wait_closed(incident)
    with pytest.raises(CommandError, match="is completed; nothing awaits sign-off"):
        engine.approve(incident, "go-ahead", "alma")


def test_an_immediate_step_runs_at_start_and_its_after_gate_can_edit_the_result(engine):
    incident = engine.start("t-immediate", {"summary": "now"})
    # Already done when `start` returns, before the worker picked the run up.
    assert actions(engine, incident)[:4] == ["incident.started", "step.started", "step.finished", "flow.launched"]
    finished = next(e for e in engine.events(incident) if e.action == "step.finished")
    assert finished.details["immediate"] is True
    assert finished.details["outputs"]["text"] == "frozen for now"
    engine.approve(incident, "freeze", "alma", fields={"text": "frozen, edited"})
    closed = engine.wait_closed(incident)

    assert closed.status == "completed"
    assert actions(engine, incident, step="freeze") == [
        "step.started",
        "step.finished",
        "signoff.requested",
        "signoff.approved",
        "signoff.granted",
    ]
    after = next(e for e in engine.events(incident) if e.step == "after" and e.action == "step.finished")
    assert after.details["outputs"]["text"] == "frozen, edited"  # the approver's edit superseded the output


def test_an_incident_whose_run_was_cancelled_in_the_prefect_ui_is_closed_by_recover(engine):
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    from runbook.engine.recovery import recover

    incident = engine.start("t-gate", {"summary": "cancelled elsewhere"})
    engine.wait_for(incident, "signoff.requested")
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(engine.events(incident)[1].details["flow_run_id"]), Cancelled(), force=True)
    # The worker's own recovery sweep races these two calls: whichever lists it first closes it,
    # once (a compare-and-set), and the others find it closed.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: recover(db=engine.services.db), range(2)))
    closers = [s for found in runs for s in found if s.incident_id == incident.id]
    assert all(s.reason == "its flow run ended cancelled outside runbook" for s in closers)
    assert len(closers) <= 1
    from runbook.audit import get_incident

    assert get_incident(engine.services.db, incident.id).status == "cancelled"
    assert actions(engine, incident)[-1] == "incident.cancelled"
    assert actions(engine, incident).count("incident.cancelled") == 1
