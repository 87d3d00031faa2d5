"""The verbs behind `runbook start / approve / cancel / status`, also used by the demo, the tests
and (later) the Slack app. Keyword-only; every refusal is a CommandError with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook.audit import (
    IncidentNotFound,
    append,
    create_incident,
    events,
    get_incident,
    list_incidents,
    update_incident,
)
from runbook.engine.context import Run
from runbook.engine.execute import execute_step
from runbook.engine.record import Recorder, stamped
from runbook.engine.services import Services
from runbook.engine.status import IncidentStatus, incident_status
from runbook.errors import RunbookError
from runbook.plan import Plan, PlanError, build_plan
from runbook.spec.expressions import evaluate_when
from runbook.spec.models import InputError, coerce_field_value

CLOSED = ("completed", "failed", "cancelled")


class CommandError(RunbookError, RuntimeError):
    """A refusal the user can act on; str() is one line."""


@dataclass
class Started:
    incident: Any
    plan: Plan
    flow_run_id: str | None
    immediate: list[str] = field(default_factory=list)


def _person(services: Services, person_id: str):
    person = services.roster().person(person_id)
    if person is None:
        raise CommandError(f"{person_id!r} is not in the roster ({services.settings.resolved_roster})")
    return person


def _incident(services: Services, ref: str):
    incident = get_incident(services.db, ref)
    if incident is None:
        raise CommandError(f"no incident {ref!r} (see `runbook status`)")
    return incident


def plan_for(*, services: Services, playbook_ref: str, inputs: dict[str, Any], requester: str) -> Plan:
    try:
        playbook = services.playbook(playbook_ref)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    try:
        plan = build_plan(
            playbook=playbook, roster=services.roster(), kinds=services.kinds, inputs=inputs, requester=requester
        )
    except (InputError, PlanError) as exc:
        problems = getattr(exc, "problems", [str(exc)])
        raise CommandError("; ".join(problems)) from None
    return plan


def start(
    *,
    services: Services,
    playbook_ref: str,
    inputs: dict[str, Any],
    requester: str,
    via: str = "cli",
    title: str | None = None,
    channel: str | None = None,
    create_run: bool = True,
    kind: str = "incident",
    time_scale: float = 1.0,
) -> Started:
    """Create the incident, run its immediate steps at once, then create the respond flow run.

    `kind="drill"`: a rehearsal (sandbox only, tagged `drill`); `time_scale`: its gates' deadlines
    run that many times faster (a drill at --speed 60 escalates a 30m gate after 30 s)."""
    person = _person(services, requester)
    if not person.can_start:
        raise CommandError(f"{requester} may not start incidents (can_start: false in the roster)")
    plan = plan_for(services=services, playbook_ref=playbook_ref, inputs=inputs, requester=requester)
    if time_scale != 1.0:
        from runbook.plan import scale_deadlines

        plan = scale_deadlines(plan, time_scale)
    summary = str(plan.inputs.get("summary") or "").strip().splitlines()
    title = (title or (summary[0] if summary else "") or plan.title)[:300]
    # The incident and its `incident.started` commit in one transaction (audit before effect): no
    # incident without the record of who started it. The resolved plan is part of the evidence
    # (who could sign what, when it started) and the flow runs exactly this plan, whatever happens
    # to the playbook file meanwhile. The plan's fields go over by name (as Plan(...) in plan.py is
    # built): the incident row and the plan share field names, not a type.
    incident = create_incident(
        services.db,
        playbook_id=plan.playbook_id,
        playbook_version=plan.playbook_version,
        inputs=plan.inputs,
        requester=requester,
        title=title,
        channel=channel,
        kind=kind,
        event={
            "actor": requester,
            "channel": via,
            "action": "incident.started",
            "details": stamped(
                {
                    "playbook": plan.playbook_id,
                    "version": plan.playbook_version,
                    "inputs": plan.inputs,
                    "title": title,
                    "steps": [s.id for s in plan.steps],
                    "plan": plan.model_dump(mode="json", by_alias=True),
                },
                once="incident.started",
            ),
        },
    )
    record = Recorder(db=services.db, incident_id=incident.id)
    immediate = _run_immediate(services=services, incident=incident, plan=plan, record=record)
    flow_run_id = None
    if create_run:
        flow_run_id = launch(services=services, incident=incident, tags=("drill",) if kind == "drill" else ())
    return Started(
        incident=get_incident(services.db, incident.id), plan=plan, flow_run_id=flow_run_id, immediate=immediate
    )


def launch(*, services: Services, incident: Any, tags: tuple[str, ...] = ()) -> str:
    """Create the respond flow run for `incident` (idempotent per incident)."""
    from runbook.engine.prefect_io import start_respond_run

    try:
        flow_run_id = start_respond_run(incident_id=incident.id, slug=incident.slug, tags=tags)
    except Exception as exc:  # noqa: BLE001 - say what to do, keep the incident
        if type(exc).__name__ == "ObjectNotFound":
            exc = RuntimeError("the respond deployment is not registered (no `runbook worker` has run)")
        # One audit event, each keyword named; ConsoleChat._append (ports/chat.py) writes another event
        # the same way, and a helper over audit.append would only rename its keywords.
        append(
            services.db,
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action="flow.start_failed",
            details={"error": f"{type(exc).__name__}: {exc}"[:1000]},
        )
        raise CommandError(
            f"incident {incident.slug} created, but its flow run could not be created "
            f"({type(exc).__name__}: {exc}); is `runbook server` up and a `runbook worker` running?"
        ) from None
    record_launch(services=services, incident=incident, flow_run_id=flow_run_id)
    return flow_run_id


def record_launch(*, services: Services, incident: Any, flow_run_id: str, **details: Any) -> None:
    """Set the incident's flow run and append `flow.launched` (its id, and `details`) in one
    transaction. A repeated launch (the run is idempotent per incident) finds the same id already
    set and records nothing again."""
    if getattr(incident, "flow_run_id", None) == flow_run_id:
        return
    update_incident(
        services.db,
        incident.id,
        flow_run_id=flow_run_id,
        event={
            "actor": "system",
            "channel": "flow",
            "action": "flow.launched",
            "details": {"flow_run_id": flow_run_id, **details},
        },
    )


def _run_immediate(*, services: Services, incident: Any, plan: Plan, record: Recorder) -> list[str]:
    """Immediate steps (the freeze) run now, in this process, before any worker is involved; the
    flow later finds them finished in the audit trail and does not run them again."""
    done: list[str] = []
    candidates = [s for s in plan.steps if s.immediate and (s.gate is None or s.gate.at == "after")]
    if not candidates:
        return done
    run = Run(services=services, incident=incident, plan=plan, record=record, chat=services.chat(incident.id))
    for step in candidates:
        try:
            if step.when and not evaluate_when(step.when, run.expressions()):
                continue
            outputs = execute_step(run, step, decision=None, last_attempt=False, immediate=True)
        except Exception:  # noqa: BLE001 - audited; the flow tries the step again with its retries
            continue
        run.steps[step.id] = {"outputs": outputs, "status": "completed", "decision": {}}
        done.append(step.id)
    from runbook.engine.artifacts import flush

    flush(timeout=5)  # artifacts an immediate kind published, before this process ends
    return done


def recorded_plan(*, services: Services, incident: Any) -> Plan:
    """The plan recorded when the incident started: what its flow runs, whatever the playbook file
    says now. Incidents started before plans were recorded fall back to resolving it now."""
    started = Recorder(db=services.db, incident_id=incident.id).find_once("incident.started")
    recorded = (started.details or {}).get("plan") if started is not None else None
    if isinstance(recorded, dict):
        return Plan.model_validate(recorded)
    return plan_for(
        services=services, playbook_ref=incident.playbook_id, inputs=incident.inputs, requester=incident.requester
    )


def _shape(plan: Plan) -> list[Any]:
    # What the playbook decides (steps, kinds, parameters, gates); not who holds a role today,
    # since sign-offs are authorised against the current roster anyway.
    return [
        (
            s.id,
            s.uses,
            s.with_,
            s.when,
            s.retries,
            s.gate
            and (
                s.gate.at,
                s.gate.roles,
                s.gate.quorum,
                s.gate.not_requester,
                s.gate.timeout_seconds,
                s.gate.on_timeout,
                sorted(s.gate.fields),
            ),
        )
        for s in plan.steps
    ]


def playbook_changed(*, services: Services, incident: Any) -> str | None:
    """Why the playbook file now differs from the plan this incident runs, or None. The incident
    keeps its recorded plan; only new incidents get the edited playbook."""
    started = Recorder(db=services.db, incident_id=incident.id).find_once("incident.started")
    recorded = (started.details or {}).get("plan") if started is not None else None
    if not isinstance(recorded, dict):
        return None
    try:
        now = plan_for(
            services=services, playbook_ref=incident.playbook_id, inputs=incident.inputs, requester=incident.requester
        )
    except CommandError as exc:
        return f"the playbook no longer resolves ({exc})"
    then = Plan.model_validate(recorded)
    if now.playbook_version != then.playbook_version:
        return f"playbook is at version {now.playbook_version}, this incident runs version {then.playbook_version}"
    if _shape(now) != _shape(then):
        return "the playbook file was edited since this incident started"
    return None


@dataclass(frozen=True)
class Decision:
    """A decision checked against the incident, the roster and the step's fields: ready to send."""

    incident: Any
    step_id: str
    run_input: dict[str, Any]


# The keywords of a decision, as every entry point names them; approve() below takes the same ones
# to pass them through, spelled out so each caller's keywords are type-checked.
def prepare_decision(
    *,
    services: Services,
    incident_ref: str,
    step_id: str,
    person: str,
    approve: bool = True,
    comment: str = "",
    fields: dict[str, Any] | None = None,
    channel: str = "cli",
) -> Decision:
    """Everything that can be refused without Prefect: unknown incident, person, step or field.

    Whether the person may sign is the flow's call (it sees the current roster and quorum).
    """
    from runbook.engine.prefect_io import decision_input

    incident = _incident(services, incident_ref)
    _person(services, person)
    if incident.status in CLOSED:
        raise CommandError(f"incident {incident.slug} is {incident.status}; nothing awaits sign-off")
    plan = recorded_plan(services=services, incident=incident)
    try:
        step = plan.step(step_id)
    except KeyError:
        raise CommandError(
            f"no step {step_id!r} in {plan.playbook_id} (steps: {', '.join(s.id for s in plan.steps)})"
        ) from None
    if step.gate is None:
        raise CommandError(f"step {step_id} has no sign-off")
    typed: dict[str, Any] = {}
    for name, value in (fields or {}).items():
        spec = step.gate.fields.get(name)
        if spec is None:
            known = ", ".join(step.gate.fields) or "none"
            raise CommandError(f"step {step_id} asks for no field {name!r} (fields: {known})")
        try:
            typed[name] = coerce_field_value(spec, value)
        except ValueError as exc:
            raise CommandError(f"field {name}: {exc}") from None
    if not incident.flow_run_id:
        raise CommandError(f"incident {incident.slug} has no flow run yet")
    # Built from the validated scalars above, never from a dict a user sent (Prefect hydrates it).
    run_input = decision_input(approve=approve, person=person, channel=channel, comment=comment, fields=typed)
    return Decision(incident=incident, step_id=step_id, run_input=run_input)


def send(
    decision: Decision, *, wait: float = 30.0, db: Any = None, evidence: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Resume the run with the decision once it waits on that step (up to `wait` seconds).

    With `db`, the decision is first attested in the audit trail (runbook.engine.identity): a
    CLI decision with this process's OS user, a Slack one with the `evidence` the app gives."""
    from runbook.engine import identity
    from runbook.engine.prefect_io import NotAwaiting, send_decision

    channel = decision.run_input["channel"]
    if db is not None and (evidence is not None or channel == "cli"):
        identity.attest(
            db,
            incident_id=decision.incident.id,
            decision_id=decision.run_input["decision_id"],
            person=decision.run_input["person"],
            channel=channel,
            evidence=evidence if evidence is not None else identity.cli_evidence(),
        )
    try:
        send_decision(
            flow_run_id=decision.incident.flow_run_id, step_id=decision.step_id, run_input=decision.run_input, wait=wait
        )
    except NotAwaiting as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return {
        "incident": decision.incident.slug,
        "step": decision.step_id,
        "decision_id": decision.run_input["decision_id"],
        "approve": decision.run_input["approve"],
        "person": decision.run_input["person"],
    }


# prepare_decision's keywords again, plus wait and evidence: the one-call form the tests, the demo and
# the benches use, passing each keyword through by name (no **kwargs, so mypy checks the callers).
def approve(
    *,
    services: Services,
    incident_ref: str,
    step_id: str,
    person: str,
    approve: bool = True,
    comment: str = "",
    fields: dict[str, Any] | None = None,
    channel: str = "cli",
    wait: float = 30.0,
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one decision to the run; the flow authorises and records it. `evidence`: how the
    caller established the person (runbook.engine.identity); a CLI caller's is its OS user."""
    # The pass-through named above; other keyword calls (Slack's app, the CLI's drill) match it in layout only.
    decision = prepare_decision(
        services=services,
        incident_ref=incident_ref,
        step_id=step_id,
        person=person,
        approve=approve,
        comment=comment,
        fields=fields,
        channel=channel,
    )
    return send(decision, wait=wait, db=services.db, evidence=evidence)


def cancel(*, services: Services, incident_ref: str, person: str, reason: str, channel: str = "cli") -> Any:
    incident = _incident(services, incident_ref)
    _person(services, person)
    if not reason.strip():
        raise CommandError("give a --reason")
    if incident.status in CLOSED:
        raise CommandError(f"incident {incident.slug} is already {incident.status}")
    closed = update_incident(
        services.db,
        incident.id,
        status="cancelled",
        event={
            "actor": person,
            "channel": channel,
            "action": "incident.cancelled",
            "details": {"reason": reason, "flow_run_id": incident.flow_run_id},
        },
    )
    if incident.flow_run_id:
        try:
            from runbook.engine.prefect_io import cancel_run

            cancel_run(incident.flow_run_id)
        except Exception as exc:  # noqa: BLE001 - the incident is cancelled; the run checks it on resume
            append(
                services.db,
                incident_id=incident.id,
                actor="system",
                channel="flow",
                action="flow.cancel_failed",
                details={"error": f"{type(exc).__name__}: {exc}"[:500]},
            )
    # Cancelling never publishes: an active freeze of the incident stays on (a thaw needs its own
    # sign-off) and is flagged at once, to the chat and on every `runbook posts`, until someone
    # thaws or keeps it (docs/freeze.md).
    flag_orphaned_freezes(services)
    return closed


def flag_orphaned_freezes(services: Services) -> list[Any]:
    """Flag freezes whose incident ended (audited once, posted to the incident's chat)."""
    from runbook.queue.orphans import flag_orphans

    return flag_orphans(services.db, chat_for=services.chat)


def status(
    *, services: Services, incident_ref: str | None = None, kinds: tuple[str, ...] = ("incident", "drill")
) -> list[IncidentStatus]:
    """One incident (any kind), or every incident and drill; standing ledgers only when asked.
    Each says whether its playbook changed since it started and which freeze of it is active."""
    from runbook.queue.orphans import active_freezes

    if incident_ref is not None:
        incidents = [_incident(services, incident_ref)]
    else:
        incidents = list_incidents(services.db, kind=kinds)
    freezes = {f.incident_id: f for f in active_freezes(services.db) if f.incident_id}
    out = []
    for incident in incidents:
        row = incident_status(incident, events(services.db, incident.id))
        if incident.status not in CLOSED and incident.kind != "ledger":
            row.playbook_changed = playbook_changed(services=services, incident=incident)
        if incident.id in freezes:
            row.freeze = freezes[incident.id].to_dict()
        out.append(row)
    return out


def freezes_status(*, services: Services) -> list[Any]:
    """Every active freeze with its age, for `runbook status` (manual freezes included)."""
    from runbook.queue.orphans import active_freezes

    return active_freezes(services.db)


__all__ = [
    "CommandError",
    "Decision",
    "IncidentNotFound",
    "Started",
    "approve",
    "cancel",
    "flag_orphaned_freezes",
    "freezes_status",
    "launch",
    "plan_for",
    "playbook_changed",
    "prepare_decision",
    "recorded_plan",
    "send",
    "start",
    "status",
]
