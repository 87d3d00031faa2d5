"""Sign-off gates: the typed decision form Prefect shows, the request/verdict tasks, and the loop
the flow runs at a gate (suspend, authorise, suspend again) until it is granted, rejected or
times out. Every wait is a `suspend_flow_run` with a stable key: a suspended run holds no process
and survives a worker restart; on resume the flow reruns from the top and each earlier wait
returns its stored decision at once, each earlier verdict comes back from its persisted result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal

from prefect import suspend_flow_run, task
from pydantic import ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from runbook.audit import checkpoint, events
from runbook.engine import artifacts, identity, prefect_io
from runbook.engine.authorize import Ballot, Tally, Verdict, judge
from runbook.engine.context import TASK_OPTIONS, Run, current_run
from runbook.engine.record import Entry
from runbook.engine.replay import call, run_name
from runbook.plan import GatePlan, StepPlan
from runbook.ports.chat import SignoffRequest
from runbook.spec.expressions import render_params, render_text
from runbook.spec.models import FieldType, InputField

# No Prefect timeout on the wait itself: it cannot be caught (the server fails the run later
# and no hook runs). Deadlines are scheduled runs of the deadline flow instead.
SUSPEND_TIMEOUT = None


def _choice(name: str, spec: InputField) -> type[Enum]:
    """A choice as an enum: the UI shows a select of the options, not a "str | None" switch."""
    title = re.sub(r"[^A-Za-z0-9]+", " ", spec.title or name).title().replace(" ", "") or "Choice"
    # The name comes from the playbook, so mypy cannot check the functional API's members.
    return Enum(title, {opt: opt for opt in spec.options or ()}, type=str)  # type: ignore[return-value]


def gate_of(step: StepPlan) -> GatePlan:
    """The step's sign-off gate; the engine asks only for steps that have one."""
    if step.gate is None:
        raise ValueError(f"step {step.id} has no sign-off")
    return step.gate


def _labels(spec: InputField) -> str:
    return "Choose: " + " · ".join(f"**{opt}**" for opt in spec.options or ())


def _annotation(name: str, spec: InputField) -> Any:
    if spec.type is FieldType.choice:
        return _choice(name, spec)
    return {FieldType.list: list[str], FieldType.bool: bool, FieldType.int: int}.get(spec.type, str)


def decision_model(gate: GatePlan):
    """The RunInput subclass of one gate: the decision plus the gate's typed fields.

    What a person fills in is in the JSON schema (the Prefect UI form): required fields without a
    default, choices as enums. What the engine sets (channel, escalate, decision_id, seal) is
    in the model but not in the schema (`SkipJsonSchema`), and `extra="ignore"` keeps the schema
    open (no `additionalProperties: false`), so the server accepts the engine's own inputs.
    """
    from prefect.input import RunInput

    fields: dict[str, Any] = {
        "approve": (bool, Field(True, title="Approve", description="Untick to reject the step")),
        "person": (
            str,
            Field(
                ...,
                title="Your roster id",
                description="Who decides: your id in the roster (e.g. ana); the flow checks your role",
            ),
        ),
        "comment": (str, Field("", title="Comment", description="Optional: why, for the audit trail")),
        "channel": (SkipJsonSchema[str], Field(prefect_io.UI_CHANNEL)),
        "escalate": (SkipJsonSchema[bool], Field(False)),
        "decision_id": (SkipJsonSchema[str], Field("")),
        "seal": (SkipJsonSchema[str], Field("")),
    }
    for name, spec in gate.fields.items():
        annotation = _annotation(name, spec)
        describe = " ".join(x for x in (spec.description, _labels(spec) if spec.options else None) if x) or None
        if spec.required and spec.default is None:
            fields[name] = (annotation, Field(..., title=spec.title or name, description=describe))
        elif spec.default is not None:
            fields[name] = (annotation, Field(spec.default, title=spec.title or name, description=describe))
        else:
            fields[name] = (annotation | None, Field(None, title=spec.title or name, description=describe))
    base = type("DecisionForm", (RunInput,), {"model_config": ConfigDict(extra="ignore"), "__module__": __name__})
    return create_model("SignoffDecision", __base__=base, **fields)


def ballot_from(decision: Any, gate: GatePlan) -> dict[str, Any]:
    """Plain scalars out of the model Prefect returned (already validated against the schema).

    The channel is the one the sender declared only when the engine sealed it (CLI, Slack, the
    deadline timer); anything else reached Prefect's API directly, the UI form, and is recorded
    as `prefect-ui` whatever it says."""
    data = decision.model_dump() if hasattr(decision, "model_dump") else dict(decision)
    ballot = {
        "approve": bool(data.get("approve", True)),
        "person": str(data.get("person") or "").strip(),
        "channel": str(data.get("channel") or ""),
        "comment": str(data.get("comment") or "")[:2000],
        "escalate": bool(data.get("escalate", False)),
        "decision_id": str(data.get("decision_id") or "")[:100],
        "fields": {name: _plain(data.get(name)) for name in gate.fields},
    }
    sealed = prefect_io.check_seal(
        str(data.get("seal") or ""),
        approve=ballot["approve"],
        person=ballot["person"],
        channel=ballot["channel"],
        escalate=ballot["escalate"],
        decision_id=ballot["decision_id"],
    )
    if not sealed or ballot["channel"] not in prefect_io.DECISION_CHANNELS:
        ballot["channel"] = prefect_io.UI_CHANNEL
        ballot["escalate"] = False  # only the deadline timer escalates, and it seals
    return ballot


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@dataclass(frozen=True)
class GateResult:
    outcome: Literal["granted", "rejected", "timeout"]
    fields: dict[str, Any] = field(default_factory=dict)
    approvers: list[str] = field(default_factory=list)
    reason: str = ""
    channel: str = "flow"  # where the last counted decision came from
    waits: int = 0  # wait keys used so far at this step (the next review round continues from here)


def _now() -> datetime:
    return datetime.now(UTC)


def _prompt(run: Run, step: StepPlan) -> str:
    gate = gate_of(step)
    source = gate.prompt or None
    if source is None:
        return f"Approve: {step.title}" if gate.at == "before" else f"Approve the result of: {step.title}"
    try:
        return render_text(source, run.expressions())
    except Exception as exc:  # noqa: BLE001 - a broken prompt must not block the gate
        return f"{source}\n(the prompt could not be rendered: {exc})"


def when(deadline: str | datetime | None, *, now: datetime | None = None) -> str:
    """A deadline as people read it: local time of this host, UTC, and how far off in words."""
    if not deadline:
        return ""
    at = datetime.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    local = at.astimezone()
    seconds = int((at - (now or _now())).total_seconds())
    span = abs(seconds)
    words = (
        f"{span // 3600} h {span % 3600 // 60} min"
        if span >= 3600
        else f"{span // 60} min"
        if span >= 60
        else f"{span} s"
    )
    rel = f"in {words}" if seconds >= 0 else f"{words} ago"
    utc = at.astimezone(UTC)
    shown = local.strftime("%a %d %b %H:%M %Z")
    return shown + ("" if local.utcoffset() == utc.utcoffset() else f" ({utc.strftime('%H:%M UTC')})") + f", {rel}"


def description(run: Run, step: StepPlan, *, prompt: str, tally: Tally, deadline: str | None, refused: str = "") -> str:
    """Markdown shown above the Prefect UI's form; `refused` is why the last decision did not count."""
    gate = gate_of(step)
    who = gate.signers + (gate.escalation if tally.escalated else [])
    lines = []
    if refused:
        lines += [f"> ⚠️ **Your last decision was not counted:** {refused}. Correct it and submit again.", ""]
    lines += [
        f"**{run.incident.slug}** · step `{step.id}`: {step.title}",
        "",
        prompt,
        "",
        f"May sign: {', '.join(who)}" + (" (escalated)" if tally.escalated else ""),
    ]
    if gate.quorum > 1:
        lines.append(
            f"Approvals: {len(tally.approvals)} of {gate.quorum}"
            + (f" ({', '.join(tally.approvals)})" if tally.approvals else "")
        )
    if deadline:
        lines.append(f"Deadline: {when(deadline)}")
    lines += [
        "",
        "Give your roster id; untick *Approve* to reject. The flow checks your role before counting "
        "the decision. Prefect does not tell us who you are: this approval is recorded as made in the "
        "Prefect UI, with the roster id as you gave it.",
    ]
    return "\n".join(lines)


@task(**TASK_OPTIONS, task_run_name=run_name)
def open_gate(once: str, step_id: str, phase: int, tally: dict[str, Any], review: int = 0) -> dict[str, Any]:
    """Ask for the sign-off (phase 0) or escalate it (phase 1): audit, chat, deadline. `review`
    counts the rounds of an "after" gate reopened on new outputs (docs/engine.md)."""
    run = current_run()
    step = run.plan.step(step_id)
    gate = gate_of(step)
    prompt = _prompt(run, step)
    deadline = _now() + timedelta(seconds=gate.timeout_seconds) if gate.timeout_seconds else None
    asked = gate.signers + (gate.escalation if phase else [])
    details = {
        "prompt": prompt,
        "roles": gate.roles,
        "quorum": gate.quorum,
        "signers": asked,
        "not_requester": gate.not_requester,
        "at": gate.at,
        "phase": phase,
        "deadline": deadline.isoformat() if deadline else None,
        "fields": list(gate.fields),
    }
    suffix = f":review-{review}" if review else ""
    if review:
        details["review"] = review
    # The request and the incident's "waiting" commit together, as the intent of what follows: the
    # chat request and the deadline run are idempotent (keyed), so when the process dies before
    # they are done, the rerun of this task (`runbook recover` reschedules the run) completes them
    # from the recorded request, its deadline included, without asking twice.
    if phase == 0:
        event = run.record.change(
            "signoff.requested", details, status="waiting", step=step_id, once=f"{step_id}:requested{suffix}"
        )
    else:
        event = run.record.change(
            "signoff.escalated",
            {**details, "to": gate.escalation},
            status="waiting",
            step=step_id,
            once=f"{step_id}:escalated{suffix}",
        )
    recorded = (event.details or {}).get("deadline")
    deadline = datetime.fromisoformat(recorded) if recorded else None
    request = SignoffRequest(
        incident_id=run.incident.id,
        incident_slug=run.incident.slug,
        step_id=step_id,
        title=step.title,
        prompt=prompt,
        signers=asked,
        quorum=gate.quorum,
        approvals=list(tally.get("approvals", [])),
        deadline=deadline,
        escalated=bool(phase),
        fields={k: v.title or k for k, v in gate.fields.items()},
    )
    run.chat.request_signoff(
        run.incident.channel,
        request,
        key=f"{run.incident.id}:{step_id}:signoff:{phase}"
        + (f":{review}" if review else "")
        + run.record.key("", step_id),
    )  # a resumed run asks again
    deadline_run = None
    if deadline is not None:
        deadline_run = prefect_io.schedule_deadline(
            flow_run_id=str(_flow_run_id()),
            step_id=step_id,
            phase=phase,
            at=deadline,
            slug=run.incident.slug,
            review=review,
        )
    artifacts.publish_progress(run, current=step_id, note="waiting for sign-off", force=True)
    return {
        "prompt": prompt,
        "deadline": deadline.isoformat() if deadline else None,
        "deadline_run": deadline_run,
        "phase": phase,
        "review": review,
    }


def _flow_run_id() -> str:
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    if ctx is None:
        raise RuntimeError("a deadline is scheduled only from the engine's sign-off task")
    return str(ctx.task_run.flow_run_id)


_ACTIONS = {
    "approved": "signoff.approved",
    "granted": "signoff.approved",
    "rejected": "signoff.rejected",
    "refused": "signoff.refused",
    "timeout": "signoff.timed_out",
}


@task(**TASK_OPTIONS, task_run_name=run_name)
def record_verdict(
    once: str, step_id: str, wait: str, ballot: dict[str, Any], tally: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    """Authorise one decision against the current roster and record what it did."""
    run = current_run()
    step = run.plan.step(step_id)
    gate = gate_of(step)
    before = Tally.from_dict(tally)
    deadline = datetime.fromisoformat(request["deadline"]) if request.get("deadline") else None
    roster = run.services.roster()
    who = identity.establish(
        events(run.services.db, run.incident.id),
        decision_id=ballot["decision_id"],
        person=ballot["person"],
        channel=ballot["channel"],
        roster=roster,
    )
    verdict = judge(
        gate=gate,
        roster=roster,
        requester=run.incident.requester,
        tally=before,
        ballot=Ballot(**ballot, verified_as=who["as"] or ""),
        now=_now(),
        deadline=deadline,
        required=identity.required(roster, run.services.settings, step_id),
    )
    if verdict.outcome in ("approved", "granted"):
        problems = _check_decision(run, step, ballot)
        if problems:
            verdict = Verdict(
                outcome="refused", reason="the step refuses these fields: " + "; ".join(problems), tally=before
            )
    person = ballot["person"]
    actor = "system" if ballot["escalate"] else (person or "unknown")
    # A decision saying slack or cli that neither attested came through the Prefect API: recorded
    # as a UI claim (details.identity keeps the claimed channel), never as Slack or the CLI.
    channel = prefect_io.UI_CHANNEL if who.get("claimed_channel") and not ballot["escalate"] else ballot["channel"]
    details = {
        "wait": wait,
        "decision_id": ballot["decision_id"],
        "reason": verdict.reason,
        "approvals": list(verdict.tally.approvals),
        "quorum": gate.quorum,
        "phase": request.get("phase", 0),
        "claimed_person": person,
        "in_roster": roster.person(person) is not None if person else False,
        "identity": who,
    }
    if ballot["comment"]:
        details["comment"] = ballot["comment"]
    if verdict.outcome in ("approved", "granted"):
        details["fields"] = {k: v for k, v in ballot["fields"].items() if v is not None}
    review = int(request.get("review") or 0)
    suffix = f":review-{review}" if review else ""
    entries = [
        Entry(_ACTIONS[verdict.outcome], details, step=step_id, actor=actor, channel=channel, once=f"{once}:decision")
    ]
    if verdict.outcome == "granted":
        entries.append(
            Entry(
                "signoff.granted",
                {
                    "approvers": list(verdict.tally.approvals),
                    "fields": dict(verdict.tally.fields),
                    "escalated": verdict.tally.escalated,
                    **({"review": review} if review else {}),
                },
                step=step_id,
                once=f"{step_id}:granted{suffix}",
            )
        )
    # A decided gate (not a timeout that escalates next) puts the incident back to running: the
    # decision, the grant, that change and the checkpoint of the new head commit together.
    settles = verdict.final and (verdict.outcome != "timeout" or not (gate.escalation and not before.escalated))
    reason = f"sign-off {step_id}: {verdict.outcome}"
    committed = run.record.commit(
        entries, status="running" if settles else None, checkpoint=reason if settles else None
    )
    chat_key = f"{run.incident.id}:{step_id}:{once}" + run.record.key("", step_id)
    if verdict.outcome == "refused":
        run.chat.post(
            run.incident.channel,
            f"{step_id}: decision from {person or 'unknown'} not counted: {verdict.reason}",
            key=chat_key,
        )
    elif verdict.outcome == "approved":
        run.chat.post(run.incident.channel, f"{step_id}: {person} approved ({verdict.reason})", key=chat_key)
    if settles:
        prefect_io.drop_deadline(request.get("deadline_run"))
        # A rerun after a crash here found the decision committed: it anchors the head anew.
        mark = committed.checkpoint or checkpoint(run.services.db, run.incident.id, reason=reason)
        head = f"seq {mark.seq}, head {mark.hash[:16]}" if mark else "empty"
        run.chat.post(
            run.incident.channel,
            f"{step_id}: sign-off {verdict.outcome} ({verdict.reason}). Audit checkpoint: {head}",
            key=f"{run.incident.id}:{step_id}:checkpoint"
            + (f":{review}" if review else "")
            + run.record.key("", step_id),
        )
    return {"outcome": verdict.outcome, "reason": verdict.reason, "tally": verdict.tally.to_dict(), "channel": channel}


def _check_decision(run: Run, step: StepPlan, ballot: dict[str, Any]) -> list[str]:
    """The kind's own objections to an approval at its "after" gate (draft_statement: the blocking
    findings of the edited text), before the approval counts. [] when it has none or no check."""
    kind = run.services.kinds.get(step.uses)
    check = getattr(kind, "check_decision", None)
    if (
        kind is None
        or check is None
        or gate_of(step).at != "after"
        or ballot.get("escalate")
        or not ballot.get("approve", True)
    ):
        return []
    outputs = (run.steps.get(step.id) or {}).get("outputs") or {}
    fields = {k: v for k, v in (ballot.get("fields") or {}).items() if v is not None}
    try:
        params = kind.params.model_validate(render_params(step.with_, run.expressions()))
        return [str(p) for p in check(params, outputs, fields, run.step_context(step, decision=None).services)]
    except Exception as exc:  # noqa: BLE001 - a check that cannot run must not approve silently
        return [f"the fields could not be checked: {type(exc).__name__}: {exc}"]


def _open(step: StepPlan, *, phase: int, tally: Tally, review: int) -> dict[str, Any]:
    """The `open_gate` task of one phase (0: the request, 1: the escalation), once per review round."""
    suffix = f"-review-{review}" if review else ""
    return call(
        open_gate,
        name=f"{step.id}-{'escalation' if phase else 'signoff'}{suffix}",
        once=f"{step.id}-open-{phase}{suffix}",
        step_id=step.id,
        phase=phase,
        tally=tally.to_dict(),
        review=review,
    )


def await_gate(run: Run, step: StepPlan, *, review: int = 0, first_wait: int = 0) -> GateResult:
    """Runs in the flow body: wait, authorise, repeat. Deterministic, so a rerun replays it.
    `review` > 0 reopens an "after" gate on new outputs: new request and wait keys, same step."""
    gate = gate_of(step)
    tally = Tally()
    request = _open(step, phase=0, tally=tally, review=review)
    n = first_wait
    refused = ""
    while True:
        key = prefect_io.wait_key(step.id, n)
        model = decision_model(gate).with_initial_data(
            description=description(
                run, step, prompt=request["prompt"], tally=tally, deadline=request["deadline"], refused=refused
            )
        )
        decision = suspend_flow_run(wait_for_input=model, key=key, timeout=SUSPEND_TIMEOUT)
        result = call(
            record_verdict,
            name=f"{step.id}-decision-{n}",
            once=f"{step.id}-verdict-{n}",
            step_id=step.id,
            wait=key,
            ballot=ballot_from(decision, gate),
            tally=tally.to_dict(),
            request=request,
        )
        n += 1
        tally = Tally.from_dict(result["tally"])
        outcome = result["outcome"]
        refused = result["reason"] if outcome == "refused" else ""
        if outcome == "granted":
            return GateResult(
                "granted",
                fields=dict(tally.fields),
                approvers=list(tally.approvals),
                reason=result["reason"],
                channel=str(result.get("channel") or "flow"),
                waits=n,
            )
        if outcome == "rejected":
            return GateResult("rejected", approvers=list(tally.approvals), reason=result["reason"], waits=n)
        if outcome == "timeout":
            if gate.escalation and not tally.escalated:
                tally = Tally(
                    approvals=tally.approvals, escalated=True, decision_ids=tally.decision_ids, fields=tally.fields
                )
                request = _open(step, phase=1, tally=tally, review=review)
                continue
            return GateResult("timeout", approvers=list(tally.approvals), reason=result["reason"], waits=n)
