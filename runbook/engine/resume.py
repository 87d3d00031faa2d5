"""Resuming a failed incident (`runbook resume`, the Slack button on the failure message): the same
incident, its recorded plan and one continuous audit chain, run on by a new flow run from the
failed step (or a named one). What the trail shows as done is replayed, not redone; a step with
side effects that finished is never repeated (its recorded results stand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook.audit import events, get_incident, update_incident
from runbook.engine.commands import CommandError, _incident, _person, record_launch, recorded_plan
from runbook.engine.services import Services
from runbook.plan import Plan, StepPlan

RESUMED = "incident.resumed"


@dataclass(frozen=True)
class Resumed:
    incident: Any
    generation: int  # 1 for the first resume
    start_at: str
    failed_step: str | None
    fresh: list[str]  # steps that run (again) in the new flow run
    kept: list[str]  # steps whose recorded results stand
    flow_run_id: str | None


def _failed_step(trail: list[Any]) -> str | None:
    for event in reversed(trail):
        if event.action == "incident.failed" and (event.details or {}).get("step"):
            return event.details["step"]
        if event.action == "step.failed" and event.step:
            return event.step
    return None


def concluded(plan: Plan, step: StepPlan, trail: list[Any], kinds: Any) -> dict[str, Any] | None:
    """What the trail shows this step concluded with ({"outputs", "status", "decision"}), or None
    when it never finished (not run, failed, or its review not granted)."""
    mine = [e for e in trail if e.step == step.id]
    if any(e.action == "step.skipped" for e in mine):
        return {"outputs": {}, "status": "skipped", "decision": {}}
    results = [e for e in mine if e.action in ("step.finished", "step.applied")]
    if not results:
        return None
    last = results[-1]
    if any(e.action == "step.failed" and e.seq > last.seq for e in mine):
        return None
    outputs = dict((last.details or {}).get("outputs") or {})
    granted = [e for e in mine if e.action == "signoff.granted"]
    decision = dict((granted[-1].details or {}).get("fields") or {}) if granted else {}
    if step.gate is not None and step.gate.at == "after":
        if not granted:
            return None  # its review was never granted
        if getattr(kinds.get(step.uses), "rerun_after_signoff", False):
            if last.action != "step.applied" or outputs.get("awaiting_review"):
                return None  # a review round was still open
        else:  # what the approver gave supersedes what the step produced (as the flow does)
            outputs = {**outputs, **{k: v for k, v in decision.items() if v is not None}}
    return {"outputs": outputs, "status": "completed", "decision": decision}


def check(*, services: Services, incident_ref: str, person: str, from_step: str | None = None) -> Any:
    """Every refusal that needs no Prefect: unknown incident, person or step; not a failed incident."""
    return _checked(services, incident_ref, person, from_step)[0]


def _checked(services: Services, incident_ref: str, person: str, from_step: str | None):
    incident = _incident(services, incident_ref)
    _person(services, person)
    if incident.status in ("completed", "cancelled"):
        raise CommandError(f"incident {incident.slug} is {incident.status}: only a failed incident can be resumed")
    if incident.status != "failed":
        raise CommandError(f"incident {incident.slug} is {incident.status}, not failed: nothing to resume")
    plan = recorded_plan(services=services, incident=incident)
    trail = events(services.db, incident.id)
    failed = _failed_step(trail)
    start_at = from_step or failed
    ids = [s.id for s in plan.steps]
    if start_at is None:
        raise CommandError(f"the trail of {incident.slug} names no failed step: give --from STEP ({', '.join(ids)})")
    if start_at not in ids:
        raise CommandError(f"no step {start_at!r} in {plan.playbook_id} (steps: {', '.join(ids)})")
    return incident, plan, trail, failed, start_at, ids


def resume(
    *,
    services: Services,
    incident_ref: str,
    person: str,
    from_step: str | None = None,
    reason: str = "",
    via: str = "cli",
    create_run: bool = True,
) -> Resumed:
    """Reopen a failed incident and create the flow run that carries it on."""
    incident, plan, trail, failed, start_at, ids = _checked(services, incident_ref, person, from_step)
    generation = 1 + sum(1 for e in trail if e.action == RESUMED)
    first = ids.index(start_at)
    fresh, kept = [], []
    for n, step in enumerate(plan.steps):
        done = concluded(plan, step, trail, services.kinds)
        if n < first or (done is not None and step.side_effects):
            kept.append(step.id)
        else:
            fresh.append(step.id)
    details = {
        "generation": generation,
        "from": start_at,
        "failed_step": failed,
        "reason": reason,
        "fresh": fresh,
        "kept": kept,
        "previous_flow_run_id": incident.flow_run_id,
    }
    # The resume and the reopening commit together: the trail never shows one without the other.
    try:
        update_incident(
            services.db,
            incident.id,
            status="running",
            closed_at=None,
            expect_status="failed",
            event={"actor": person, "channel": via, "action": RESUMED, "details": details},
        )
    except ValueError as exc:  # someone else resumed (or closed) it meanwhile
        raise CommandError(str(exc)) from None
    flow_run_id = None
    if create_run:
        from runbook.engine.prefect_io import start_respond_run

        try:
            flow_run_id = start_respond_run(
                incident_id=incident.id,
                slug=incident.slug,
                key=f"respond-{incident.id}-resume-{generation}",
                tags=("drill",) if getattr(incident, "kind", "") == "drill" else (),
            )
        except Exception as exc:  # noqa: BLE001 - put the incident back as it was, audited
            update_incident(
                services.db,
                incident.id,
                status="failed",
                event={
                    "actor": "system",
                    "channel": "flow",
                    "action": "incident.resume_failed",
                    "details": {"generation": generation, "error": f"{type(exc).__name__}: {exc}"[:500]},
                },
            )
            raise CommandError(
                f"{incident.slug} could not be resumed: no flow run was created "
                f"({type(exc).__name__}: {exc}); is `runbook server` up and a `runbook worker` running?"
            ) from None
        record_launch(services=services, incident=incident, flow_run_id=flow_run_id, generation=generation)
    return Resumed(
        incident=get_incident(services.db, incident.id),
        generation=generation,
        start_at=start_at,
        failed_step=failed,
        fresh=fresh,
        kept=kept,
        flow_run_id=flow_run_id,
    )


# -- inside the flow run ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """What a resumed flow run replays: the latest resume of the incident."""

    generation: int
    start_at: str
    failed_step: str | None
    fresh: frozenset[str]
    trail: list[Any]

    @property
    def suffix(self) -> str:
        return f":r{self.generation}"


def replay_of(trail: list[Any]) -> Replay | None:
    resumes = [e for e in trail if e.action == RESUMED]
    if not resumes:
        return None
    d = resumes[-1].details or {}
    return Replay(
        generation=int(d.get("generation") or len(resumes)),
        start_at=str(d.get("from")),
        failed_step=d.get("failed_step"),
        fresh=frozenset(d.get("fresh") or []),
        trail=trail,
    )


def prepare(run: Any) -> None:
    """Make `run` a resumed run when the incident was resumed: fresh steps get new idempotency
    keys in the trail (so they run again and a new failure is recorded), the rest replay."""
    replay = replay_of(events(run.services.db, run.incident.id))
    run.replay = replay
    if replay is not None:
        run.record.fresh = replay.fresh
        run.record.suffix = replay.suffix


def restored(run: Any, step: StepPlan) -> dict[str, Any] | None:
    """For a resumed run: the recorded state of a step that is not run again; None to run it."""
    replay = getattr(run, "replay", None)
    if replay is None or step.id in replay.fresh:
        return None
    done = concluded(run.plan, step, replay.trail, run.services.kinds)
    if done is not None:
        return done
    # Before the step it resumes from, and never concluded: skipped on purpose by `--from`.
    return {"outputs": {}, "status": "skipped", "decision": {}, "skipped_by_resume": True}


def granted_decision(run: Any, step: StepPlan) -> dict[str, Any] | None:
    """The failed step's granted "before" sign-off stands: it is not asked again on resume."""
    replay = getattr(run, "replay", None)
    if replay is None or step.id != replay.failed_step or step.gate is None or step.gate.at != "before":
        return None
    granted = [e for e in replay.trail if e.step == step.id and e.action == "signoff.granted"]
    return dict((granted[-1].details or {}).get("fields") or {}) if granted else None
