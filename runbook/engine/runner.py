"""The respond flow's body: load the incident and its plan, then run each step as a Prefect task
named after the step, with `when:` skips, sign-off gates, retries and an audit entry for every
start, finish, skip and failure. The body itself has no side effects: it reruns from the top
after every resume, and everything it causes happens in tasks whose results are persisted.
"""

from __future__ import annotations

import os
import socket
from contextvars import ContextVar
from typing import Any

from prefect import task
from prefect.states import Completed, Failed

from runbook.audit import get_incident
from runbook.engine import artifacts
from runbook.engine.context import TASK_OPTIONS, Run, current_run, enter, leave
from runbook.engine.execute import apply_decision, execute_step
from runbook.engine.record import Recorder
from runbook.engine.replay import call, new_execution, run_name
from runbook.engine.runlog import LoggingRecorder
from runbook.engine.services import Services, build_services
from runbook.engine.signoff import await_gate, gate_of
from runbook.plan import Plan, StepPlan, build_plan
from runbook.spec.expressions import evaluate_when

CLOSED = ("completed", "failed", "cancelled")
_services: ContextVar[Services | None] = ContextVar("runbook_services", default=None)


@task(**TASK_OPTIONS, task_run_name=run_name)
def load_plan(once: str, incident_id: str) -> dict[str, Any]:
    """The plan recorded when the incident started (else resolved now), persisted: later reruns
    of the flow (after each resume) use the same plan even if the playbook file changes."""
    services = _services.get() or build_services()
    started = Recorder(db=services.db, incident_id=incident_id).find_once("incident.started")
    if started is not None and isinstance((started.details or {}).get("plan"), dict):
        return Plan.model_validate(started.details["plan"]).model_dump(mode="json", by_alias=True)
    incident = get_incident(services.db, incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id}")
    playbook = services.playbook(incident.playbook_id)
    if playbook.version != incident.playbook_version:
        raise RuntimeError(
            f"playbook {playbook.id} is at version {playbook.version}, "
            f"the incident started on version {incident.playbook_version}"
        )
    plan = build_plan(
        playbook=playbook,
        roster=services.roster(),
        kinds=services.kinds,
        inputs=incident.inputs,
        requester=incident.requester,
    )
    return plan.model_dump(mode="json", by_alias=True)


@task(**TASK_OPTIONS, task_run_name=run_name)
def begin(once: str) -> dict[str, Any]:
    run = current_run()
    run.record.change("flow.started", {"steps": [s.id for s in run.plan.steps]}, status="running", once="flow.started")
    artifacts.publish_progress(run, force=True)
    return {"ok": True}


@task(**TASK_OPTIONS, task_run_name=run_name)
def run_step(once: str, step_id: str, decision: dict[str, Any] | None) -> dict[str, Any]:
    from prefect.runtime import task_run

    run = current_run()
    step = run.plan.step(step_id)
    attempt = max(int(task_run.run_count or 1), 1)
    try:
        outputs = execute_step(run, step, decision=decision, attempt=attempt, last_attempt=attempt > step.retries)
    except Exception as exc:
        if attempt > step.retries:
            artifacts.publish_step(run, step_id=step_id, outcome="failed", detail=f"{type(exc).__name__}: {exc}")
        raise
    run.steps[step_id] = {"outputs": outputs, "status": "completed", "decision": decision or {}}
    artifacts.publish_step(run, step_id=step_id, outcome="completed", outputs=outputs, decision=decision)
    artifacts.publish_progress(run, current=step_id)
    return outputs


@task(**TASK_OPTIONS, task_run_name=run_name)
def apply_step(once: str, step_id: str, decision: dict[str, Any], review: int) -> dict[str, Any]:
    """The kind called again with its granted "after" sign-off (`rerun_after_signoff`)."""
    from prefect.runtime import task_run

    run = current_run()
    step = run.plan.step(step_id)
    attempt = max(int(task_run.run_count or 1), 1)
    try:
        outputs = apply_decision(
            run, step, decision=decision, review=review, attempt=attempt, last_attempt=attempt > step.retries
        )
    except Exception as exc:
        if attempt > step.retries:
            artifacts.publish_step(run, step_id=step_id, outcome="failed", detail=f"{type(exc).__name__}: {exc}")
        raise
    run.steps[step_id] = {"outputs": outputs, "status": "completed", "decision": decision}
    artifacts.publish_step(
        run, step_id=step_id, outcome=f"applied (review {review})", outputs=_shown(outputs), decision=decision
    )
    if isinstance(outputs.get("table"), list) and outputs["table"]:
        artifacts.hook(
            kind="table",
            key=f"{run.incident.slug}-{step_id}-table",
            data=outputs["table"],
            description=f"{step_id}: coverage",
        )
    artifacts.publish_progress(run, current=step_id)
    return outputs


def _shown(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in outputs.items() if k not in ("review_slack", "items", "table")}


@task(**TASK_OPTIONS, task_run_name=run_name)
def skip_step(once: str, step_id: str, reason: str) -> dict[str, Any]:
    run = current_run()
    run.record("step.skipped", {"reason": reason}, step=step_id, once=f"{step_id}:skipped")
    run.steps[step_id] = {"outputs": {}, "status": "skipped", "decision": {}}
    artifacts.publish_step(run, step_id=step_id, outcome="skipped", detail=reason)
    artifacts.publish_progress(run, current=step_id)
    return {"skipped": True}


@task(**TASK_OPTIONS, task_run_name=run_name)
def close(once: str, status: str, outcome: str, reason: str, step_id: str | None) -> dict[str, Any]:
    run = current_run()
    again = run.replay.suffix if run.replay is not None else ""  # a resumed run closes anew
    # The close and its audit event commit together; the message to the room comes after (keyed:
    # a rerun after a crash here posts it once).
    run.record.change(
        f"incident.{status}",
        {"outcome": outcome, "reason": reason, "step": step_id},
        status=status,
        once=f"incident.{status}{again}",
    )
    _closed_message(run, outcome, reason, status=status, step_id=step_id, key=f"{run.incident.id}:closed{again}")
    artifacts.publish_progress(run, note=outcome, force=True)
    return {"status": status, "outcome": outcome}


def closing_line(slug: str, outcome: str, reason: str, step_id: str | None) -> str:
    """One sentence for the team, with what to do next. The audit trail keeps the full reason; an
    exception's text (a traceback, SQL) never reaches the room, only its kind."""
    if outcome == "completed":
        return f"✅ {slug}: the playbook is complete. `runbook postmortem {slug}` has the review."
    if outcome == "rejected":
        return (
            f"⛔ {slug}: stopped, because the sign-off of {step_id} was rejected. "
            f"Start a new incident when the situation changes."
        )
    what = reason.split(": ", 1)[1] if step_id and reason.startswith(f"{step_id}: ") else reason
    kind = what.split(":", 1)[0].strip() if ":" in what else ""
    cause = f" ({kind})" if kind.isidentifier() else f" ({what})" if len(what) <= 80 and "\n" not in what else ""
    return (
        f"❌ {slug}: stopped, because step {step_id or '?'} failed{cause}. Check `runbook status {slug}` and the "
        f"worker's log, fix the cause, then: runbook resume {slug} --as PERSON [--from STEP] --reason ..."
    )


def _closed_message(run: Run, outcome: str, reason: str, *, status: str, step_id: str | None, key: str) -> None:
    text = closing_line(run.incident.slug, outcome, reason, step_id)
    if status == "failed" and outcome == "failed":
        post_failure = getattr(run.chat, "post_failure", None)  # Slack: the message carries a Resume button
        if post_failure is not None:
            post_failure(run.incident.channel, text, incident_id=run.incident.id, step_id=step_id, key=key)
            return
    run.chat.post(run.incident.channel, text, key=key)


def _label_process() -> None:
    """Which host and process execute the run now: `runbook recover` uses it to tell a run whose
    process died from one still working."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    try:
        with get_client(sync_client=True) as client:
            # The run count tells recovery whether the label is this execution's or a previous
            # one's (a resumed run starts a new process, which labels itself a moment later).
            client.update_flow_run_labels(
                ctx.flow_run.id,
                {
                    "runbook.host": socket.gethostname(),
                    "runbook.pid": str(os.getpid()),
                    "runbook.run_count": str(client.read_flow_run(ctx.flow_run.id).run_count),
                },
            )
    except Exception:  # noqa: BLE001 - recovery then falls back to heartbeats
        pass


def run_incident(*, incident_id: str, services: Services | None = None):
    """Body of `flows.respond.respond`."""
    services = services or build_services()
    incident = get_incident(services.db, incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id}")
    if incident.status in CLOSED:
        return Completed(message=f"incident already {incident.status}", name=incident.status.capitalize())
    _label_process()
    new_execution()
    record = LoggingRecorder(db=services.db, incident_id=incident.id)
    started = record.find_once("incident.started")
    if started is not None and isinstance((started.details or {}).get("plan"), dict):
        # The plan recorded at the start is what this run executes; reading it costs no task run.
        plan = Plan.model_validate(started.details["plan"])
    else:
        reset = _services.set(services)
        try:
            plan = Plan.model_validate(call(load_plan, name="plan", once="plan", incident_id=incident_id))
        finally:
            _services.reset(reset)
    run = Run(services=services, incident=incident, plan=plan, record=record, chat=services.chat(incident.id))
    from runbook.engine.resume import prepare

    prepare(run)  # a resumed incident replays what its trail shows as done
    token = enter(run)
    try:
        return _run_steps(run)
    finally:  # also on a suspend: the process ends right after
        leave(token)
        artifacts.flush()


def _run_steps(run: Run):
    from runbook.engine.resume import granted_decision, restored

    call(begin, name="begin", once="begin")
    for step in run.plan.steps:
        kept = restored(run, step)
        if kept is not None:  # resumed: its recorded result stands (or --from skipped it)
            if kept.pop("skipped_by_resume", False):
                _skip(step, f"resumed from {run.replay.start_at}")
            run.steps[step.id] = kept
            continue
        if step.when:
            try:
                wanted = evaluate_when(step.when, run.expressions())
            except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated fails the step
                return _fail(run, step, f"its condition could not be evaluated: {exc}")
            if not wanted:
                _skip(step, f"condition is false: {step.when}")
                run.steps[step.id] = {"outputs": {}, "status": "skipped", "decision": {}}
                continue
        decision: dict[str, Any] | None = granted_decision(run, step)
        gate = step.gate
        if gate is not None and gate.at == "before" and decision is None:
            result = await_gate(run, step)
            verdict = _after_gate(run, step, result)
            if verdict is not None:
                if verdict == "skip":
                    continue
                return verdict
            decision = result.fields if result.outcome == "granted" else None
        try:
            outputs = run_step_task(step, decision)
        except Exception as exc:  # noqa: BLE001 - the audit already holds the failure
            return _fail(run, step, f"{type(exc).__name__}: {exc}")
        run.steps[step.id] = {"outputs": outputs, "status": "completed", "decision": decision or {}}
        if gate is not None and gate.at == "after":
            verdict = _review(run, step, outputs)
            if verdict == "skip":
                run.steps[step.id]["status"] = "skipped"
                continue
            if verdict is not None:
                return verdict
    call(close, name="close", once="close", status="completed", outcome="completed", reason="", step_id=None)
    return Completed(message=f"{run.incident.slug} completed")


def _skip(step: StepPlan, reason: str) -> None:
    call(skip_step, name=step.id, once=f"{step.id}-skip", step_id=step.id, reason=reason)


def run_step_task(step: StepPlan, decision: dict[str, Any] | None) -> dict[str, Any]:
    """The flow's path for one step: its `run_step` task, with the step's options. Also what
    bench/engine.py times, so the benchmark measures exactly this call."""
    return call(
        run_step,
        name=step.id,
        once=f"{step.id}-run",
        options=_step_options(step, "step"),
        step_id=step.id,
        decision=decision,
    )


def _step_options(step: StepPlan, prefix: str) -> dict[str, Any]:
    return {
        "name": f"{prefix}-{step.uses}",
        "retries": step.retries,
        "retry_delay_seconds": [min(2**n, 30) for n in range(step.retries)] or 0,
        "timeout_seconds": step.timeout_seconds,
    }


def _review(run: Run, step: StepPlan, outputs: dict[str, Any]) -> Any:
    """An "after" gate: approve what the step produced. For a kind with `rerun_after_signoff`, each
    grant is applied by calling the kind again (task `<step>-apply-<n>`), and while its outputs say
    `awaiting_review` the gate opens again on them (review round n+1). Returns like `_after_gate`."""
    kind = run.services.kinds[step.uses]
    rerun = bool(getattr(kind, "rerun_after_signoff", False))
    review, waits = 0, 0
    while True:
        result = await_gate(run, step, review=review, first_wait=waits)
        waits = result.waits
        verdict = _after_gate(run, step, result)
        if verdict is not None:
            return verdict
        if result.outcome != "granted":  # timed out with on_timeout: continue
            return None
        if not rerun:
            # What the approver gave (an edited text) supersedes what the step produced.
            merged = {**outputs, **{k: v for k, v in result.fields.items() if v is not None}}
            run.steps[step.id] = {"outputs": merged, "status": "completed", "decision": result.fields}
            return None
        decision = {
            **{k: v for k, v in result.fields.items() if v is not None},
            "approvers": list(result.approvers),
            "person": result.approvers[-1] if result.approvers else "",
            "channel": result.channel,
        }
        try:
            outputs = call(
                apply_step,
                name=f"{step.id}-apply-{review}",
                once=f"{step.id}-apply-{review}",
                options=_step_options(step, "apply"),
                step_id=step.id,
                decision=decision,
                review=review,
            )
        except Exception as exc:  # noqa: BLE001 - the audit already holds the failure
            return _fail(run, step, f"{type(exc).__name__}: {exc}")
        run.steps[step.id] = {"outputs": outputs, "status": "completed", "decision": decision}
        if not outputs.get("awaiting_review"):
            return None
        review += 1


def _after_gate(run: Run, step: StepPlan, result) -> Any:
    """None to go on; "skip" to skip the step; otherwise the flow's final state."""
    from prefect.states import Completed

    if result.outcome == "granted":
        return None
    if result.outcome == "rejected":
        _close_failed(step, "rejected", result.reason)
        return Completed(message=f"{step.id} rejected: {result.reason}", name="Rejected")
    on_timeout = gate_of(step).on_timeout
    if on_timeout == "skip":
        _skip(step, "sign-off timed out (on_timeout: skip)")
        run.steps[step.id] = {"outputs": {}, "status": "skipped", "decision": {}}
        return "skip"
    if on_timeout == "continue":
        return None
    return _fail(run, step, "sign-off timed out (on_timeout: fail)")


def _close_failed(step: StepPlan, outcome: str, reason: str) -> None:
    """The run's `close` task for an end at `step` (rejected or failed), with the step in the reason."""
    call(
        close,
        name="close",
        once="close",
        status="failed",
        outcome=outcome,
        reason=f"{step.id}: {reason}",
        step_id=step.id,
    )


def _fail(run: Run, step: StepPlan, reason: str):
    _close_failed(step, "failed", reason)
    return Failed(message=f"{step.id}: {reason}")
