"""`thaw_posts`: resume the queue post by post. Called without a decision it proposes the
reconciliation list (release / reschedule / kill per frozen post, each re-checked); called with
the approver's decision it applies that list with the approver's per-post changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from runbook.spec.models import FieldType, InputField
from runbook.steps.base import Outputs, Params, StepContext, StepKind

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.checks import Checker
    from runbook.queue.model import ThawPlan


class ThawParams(Params):
    freeze: Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")] | None = Field(
        default=None, description="The freeze to thaw (default: this incident's freeze)"
    )
    reschedule_after_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 30
    spacing_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 10


class ThawOutputs(Outputs):
    phase: str  # proposed | applied
    thaw_id: str
    freeze_id: str
    counts: dict[str, int]
    actions: str  # POST_ID=action lines: the proposal, or what was applied
    items: list[dict[str, Any]]
    remaining: list[str] = []


# Declared like reply_individually's gate_fields (see there): same InputField layout, this kind's
# own words and POST_ID=action syntax.
def gate_fields(params: ThawParams) -> dict[str, InputField]:
    return {
        "actions": InputField(
            type=FieldType.text,
            title="Change any post's action",
            description="One line per post to change: POST_ID=release|reschedule|kill "
            "(reschedule may add @TIME). Posts not listed keep the proposed action.",
        )
    }


def run(ctx: StepContext, params: ThawParams) -> ThawOutputs:
    from datetime import timedelta

    from runbook.checks import Checker
    from runbook.queue import freeze_of_incident

    engine = ctx.services.db
    freeze_id = params.freeze
    if freeze_id is None:
        freeze = freeze_of_incident(engine, ctx.incident_id)
        if freeze is None:
            raise RuntimeError(f"incident {ctx.incident_slug} has no freeze to thaw")
        freeze_id = freeze.id
    timing = {
        "reschedule_after": timedelta(minutes=params.reschedule_after_minutes),
        "spacing": timedelta(minutes=params.spacing_minutes),
    }
    own_checker = ctx.services.checker is None
    checker = ctx.services.checker or Checker()
    try:
        return _propose_or_apply(ctx, engine, freeze_id, checker, timing)
    finally:
        if own_checker:
            checker.close()


def _propose_or_apply(
    ctx: StepContext, engine: Engine, freeze_id: str, checker: Checker, timing: dict[str, Any]
) -> ThawOutputs:
    from runbook.queue import apply_thaw, latest_thaw, parse_actions, propose_thaw
    from runbook.queue.jobs import JobBook

    def propose() -> ThawPlan:
        return propose_thaw(
            engine,
            freeze_id,
            actor=ctx.requester,
            channel="flow",
            checker=checker,
            key=ctx.key("proposal"),
            step=ctx.step_id,
            **timing,
        )

    if ctx.decision is None:
        proposed = propose()
        return _outputs("proposed", proposed, proposed.actions_text())
    overrides = parse_actions(str(ctx.decision.get("actions") or ""))
    approver = str(ctx.decision.get("person") or ctx.requester)
    channel = str(ctx.decision.get("channel") or "flow")
    plan = latest_thaw(engine, freeze_id)
    if plan is None or plan.status == "superseded":
        plan = propose()
    jobs = JobBook(engine)
    try:
        applied = apply_thaw(
            engine,
            plan.id,
            approver=approver,
            channel=channel if channel in ("slack", "cli", "ui", "flow") else "flow",
            jobs=jobs,
            overrides=overrides,
            step=ctx.step_id,
            remote=list(ctx.services.remote_queues),
            **timing,
        )
    finally:
        jobs.close()
    lines = "\n".join(f"{i.post.id}={i.action}" for i in applied.items)
    return _outputs("applied", applied, lines)


def _outputs(phase: str, plan: ThawPlan, actions: str) -> ThawOutputs:
    items = [
        {
            "post": i.post.id,
            "label": i.post.label,
            "proposed": i.proposed,
            "reason": i.reason,
            "blocks": [f["rule"] for f in i.findings if f["severity"] == "block"],
            "proposed_run_at": i.proposed_run_at.isoformat() if i.proposed_run_at else None,
            "action": i.action,
            "outcome": i.outcome,
        }
        for i in plan.items
    ]
    return ThawOutputs(
        phase=phase,
        thaw_id=plan.id,
        freeze_id=plan.freeze_id,
        counts=plan.counts("outcome" if phase == "applied" else "proposed"),
        actions=actions,
        items=items,
        remaining=list(plan.remaining),
    )


KIND = StepKind.of(
    "thaw_posts",
    run,
    side_effects=True,
    signoff_at="after",
    gate_fields=gate_fields,
    rerun_after_signoff=True,
    description="Propose release/reschedule/kill for every frozen post (re-checked); apply it once approved",
)
