"""The plan: a playbook resolved against its inputs and the roster (steps, conditions, who may sign
each gate, deadlines). Pure data, no Prefect: `runbook plan` prints it and the engine runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from runbook.errors import InvalidSpec
from runbook.spec.durations import format_duration
from runbook.spec.models import FieldType, InputField, Playbook, Signoff, Step
from runbook.spec.roster import Roster
from runbook.steps.base import StepKind

# Decision fields the engine owns (kept in step with runbook.spec.checks.RESERVED_DECISION_FIELDS).
DECISION_FIELDS = ("approve", "person", "channel", "comment", "escalate", "decision_id")


class PlanError(InvalidSpec, ValueError):
    """The playbook cannot run as asked: unknown requester, a gate nobody can ever sign, ..."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatePlan(_Data):
    at: Literal["before", "after"]
    roles: list[str]
    quorum: int
    not_requester: bool
    timeout_seconds: float | None
    escalate_to: list[str]
    on_timeout: Literal["fail", "skip", "continue"]
    prompt: str | None  # a template, rendered when the gate opens (it may use earlier outputs)
    fields: dict[str, InputField]  # what the approver fills in: the kind's fields, then signoff.input
    signers: list[str]  # people who may sign now (role holders, minus the requester under not_requester)
    escalation: list[str]  # people added when the deadline passes: escalate_to and the signers' deputies

    def may_sign(self, person_id: str, *, escalated: bool) -> bool:
        return person_id in self.signers or (escalated and person_id in self.escalation)


class StepPlan(_Data):
    id: str
    title: str
    uses: str
    description: str = ""
    with_: dict[str, Any]
    when: str | None
    needs: list[str]
    retries: int
    timeout_seconds: float | None
    side_effects: bool
    immediate: bool
    human: bool
    gate: GatePlan | None


class Plan(_Data):
    playbook_id: str
    playbook_version: int
    title: str
    requester: str
    inputs: dict[str, Any]
    steps: list[StepPlan]
    warnings: list[str] = []

    def step(self, step_id: str) -> StepPlan:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def build_plan(
    *,
    playbook: Playbook,
    roster: Roster,
    kinds: Mapping[str, StepKind],
    inputs: Mapping[str, Any],
    requester: str,
) -> Plan:
    """Resolve `playbook` for `requester` with `inputs`; raises PlanError or InputError listing every problem."""
    problems: list[str] = []
    warnings: list[str] = []
    if roster.person(requester) is None:
        problems.append(f"{requester!r} is not in the roster")
    resolved_inputs = playbook.resolve_inputs(dict(inputs))  # InputError lists its own problems
    steps: list[StepPlan] = []
    for step in playbook.steps:
        kind = kinds.get(step.uses)
        if kind is None:
            problems.append(f"{step.id}: unknown step kind '{step.uses}'")
            continue
        gate = None
        if step.signoff is not None:
            gate, gate_problems, gate_warnings = _gate(
                step=step, signoff=step.signoff, kind=kind, roster=roster, requester=requester, inputs=resolved_inputs
            )
            problems.extend(gate_problems)
            warnings.extend(gate_warnings)
        # Field by field, not model_validate(step, from_attributes=True): five fields come from the kind or the gate,
        # and title, with_, needs and timeout_seconds are renamed or converted from the spec's Step.
        steps.append(
            StepPlan(
                id=step.id,
                title=step.label,
                uses=step.uses,
                description=kind.description,
                with_=dict(step.with_),
                when=step.when,
                needs=list(step.needs),
                retries=step.retries,
                timeout_seconds=step.timeout.total_seconds() if step.timeout else None,
                side_effects=kind.side_effects,
                immediate=kind.immediate,
                human=kind.human,
                gate=gate,
            )
        )
    if problems:
        raise PlanError(problems)
    # Spelled out: the playbook's id and version become playbook_id and playbook_version, and the rest
    # comes from this function's locals (resolved inputs, steps, warnings), so no object maps onto Plan.
    return Plan(
        playbook_id=playbook.id,
        playbook_version=playbook.version,
        title=playbook.title,
        requester=requester,
        inputs=resolved_inputs,
        steps=steps,
        warnings=warnings,
    )


def _titles(fields: dict[str, InputField], inputs: Mapping[str, Any]) -> dict[str, InputField]:
    """Field titles taken from templated parameters (a checklist item naming `inputs.account`)
    are rendered with the inputs, so the approver's form reads as meant."""
    from runbook.spec.expressions import expression_context, is_templated, render_text

    ctx = expression_context(inputs=inputs, steps={}, incident={})
    out: dict[str, InputField] = {}
    for name, spec in fields.items():
        if spec.title and is_templated(spec.title):
            try:
                spec = spec.model_copy(update={"title": render_text(spec.title, ctx)})
            except Exception:  # noqa: BLE001 - it names an earlier step's output: keep the source
                pass
        out[name] = spec
    return out


def _kind_gate_fields(kind: StepKind, params: Mapping[str, Any]) -> dict[str, InputField]:
    """The fields a kind asks the approver for. Templated parameters (`accounts: "{{ ... }}"`)
    are only validated when the step runs, so the fields are then derived from the parameters
    as written: they depend on the parameters' shape, not on the rendered values."""
    gate_fields = kind.gate_fields
    if gate_fields is None:
        return {}
    try:
        return gate_fields(kind.params.model_validate(params))
    except Exception:  # noqa: BLE001 - templated: validated when the step runs
        try:
            return gate_fields(kind.params.model_construct(**dict(params)))
        except Exception:  # noqa: BLE001 - the fields depend on what only the run knows
            return {}


def _gate(
    *,
    step: Step,
    signoff: Signoff,
    kind: StepKind,
    roster: Roster,
    requester: str,
    inputs: Mapping[str, Any],
) -> tuple[GatePlan, list[str], list[str]]:
    step_id = step.id
    problems: list[str] = []
    warnings: list[str] = []
    fields: dict[str, InputField] = {}
    if kind.gate_fields is not None:
        fields.update(_kind_gate_fields(kind, step.with_ or {}))
    for name, spec in signoff.input.items():
        if name in fields:
            problems.append(f"{step_id}: sign-off field '{name}' is already provided by '{step.uses}'")
        fields[name] = spec
    for name in fields:
        if name in DECISION_FIELDS:
            problems.append(f"{step_id}: sign-off field '{name}' is reserved for the decision itself")
    signers = [p.id for p in roster.holders(list(signoff.roles)) if not (signoff.not_requester and p.id == requester)]
    escalation: list[str] = []
    if signoff.escalate_to:
        # When the signers do not answer in time, the people named in escalate_to (or holding
        # those roles) and the signers' own deputies are asked.
        named = [p.id for p in roster.resolve(list(signoff.escalate_to))]
        deputies = [p.deputy for p in map(roster.person, signers) if p is not None and p.deputy]
        for person_id in [*named, *deputies]:
            if person_id and person_id not in signers and person_id not in escalation:
                if not (signoff.not_requester and person_id == requester):
                    escalation.append(person_id)
    reachable = len(signers) + len(escalation)
    if reachable < signoff.quorum:
        problems.append(
            f"{step_id}: the sign-off needs {signoff.quorum} people but only {reachable} may sign"
            + (" (the requester may not)" if signoff.not_requester else "")
        )
    elif len(signers) < signoff.quorum:
        warnings.append(f"{step_id}: quorum {signoff.quorum} is only reachable after escalation")
    gate = GatePlan(
        at=kind.signoff_at,
        roles=list(signoff.roles),
        quorum=signoff.quorum,
        not_requester=signoff.not_requester,
        timeout_seconds=signoff.timeout.total_seconds() if signoff.timeout else None,
        escalate_to=list(signoff.escalate_to),
        on_timeout=signoff.on_timeout,
        prompt=signoff.prompt,
        fields=_titles(fields, inputs),
        signers=signers,
        escalation=escalation,
    )
    return gate, problems, warnings


def find_playbook(playbooks_dir: Path, name: str) -> Path:
    """A playbook given as a path, or by id in `playbooks_dir`; FileNotFoundError names what was tried."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") or as_path.is_file():
        if as_path.is_file():
            return as_path
        raise FileNotFoundError(f"no playbook file {name}")
    for suffix in (".yaml", ".yml"):
        candidate = playbooks_dir / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in playbooks_dir.glob("*.y*ml")) if playbooks_dir.is_dir() else []
    raise FileNotFoundError(
        f"no playbook '{name}' in {playbooks_dir}" + (f" (known: {', '.join(known)})" if known else "")
    )


def parse_assignments(pairs: list[str], *, what: str = "--input") -> dict[str, str]:
    """`k=v` pairs from the command line; ValueError on a pair without `=`."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{what} {pair!r}: write it as name=value")
        out[name.strip()] = value
    return out


def _field_text(name: str, spec: InputField) -> str:
    kind = spec.type.value if spec.type is not FieldType.choice else "|".join(spec.options or [])
    return f"{name} ({kind}{', required' if spec.required else ''})"


def render_plan(plan: Plan, *, roster: Roster | None = None) -> str:
    """The plan as text a comms lead can read before starting (the dry run)."""

    def who(ids: list[str]) -> str:
        if not ids:
            return "nobody"
        if roster is None:
            return ", ".join(ids)
        return ", ".join(f"{p.name} ({p.id})" if (p := roster.person(i)) else i for i in ids)

    lines = [f"{plan.title}  [{plan.playbook_id} v{plan.playbook_version}]", f"requested by {who([plan.requester])}"]
    if plan.inputs:
        lines.append("inputs:")
        lines.extend(f"  {k} = {v!r}" for k, v in plan.inputs.items())
    lines.append("steps:")
    for n, step in enumerate(plan.steps, 1):
        flags = [f for f, on in (("immediate", step.immediate), ("side effects", step.side_effects)) if on]
        lines.append(f"{n:>3}. {step.id}: {step.title}  <{step.uses}>" + (f"  ({', '.join(flags)})" if flags else ""))
        if step.when:
            lines.append(f"       only when: {step.when}")
        if step.retries or step.timeout_seconds:
            extra = [f"retries {step.retries}"] if step.retries else []
            if step.timeout_seconds:
                extra.append(f"time limit {_seconds(step.timeout_seconds)}")
            lines.append(f"       {', '.join(extra)}")
        gate = step.gate
        if gate is None:
            continue
        what = "approve before it runs" if gate.at == "before" else "approve what it produced"
        count = f"{gate.quorum} distinct people" if gate.quorum > 1 else "one person"
        lines.append(
            f"       sign-off ({what}): {count} holding {' or '.join(gate.roles)}"
            + ("; not the requester" if gate.not_requester else "")
        )
        lines.append(f"         may sign: {who(gate.signers)}")
        if gate.timeout_seconds:
            after = f"         within {_seconds(gate.timeout_seconds)}"
            if gate.escalation:
                after += f"; then escalate to {who(gate.escalation)} for another {_seconds(gate.timeout_seconds)}"
            lines.append(after + f"; then {gate.on_timeout}")
        if gate.fields:
            lines.append(f"         asks for: {', '.join(_field_text(k, v) for k, v in gate.fields.items())}")
    for warning in plan.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=value))


def scale_deadlines(plan: Plan, factor: float) -> Plan:
    """The plan with every sign-off deadline divided by `factor` (a drill's compressed time)."""
    if factor <= 0:
        raise ValueError("the time scale must be positive")
    steps = [
        step.model_copy(
            update={"gate": step.gate.model_copy(update={"timeout_seconds": step.gate.timeout_seconds / factor})}
        )
        if step.gate is not None and step.gate.timeout_seconds
        else step
        for step in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})
