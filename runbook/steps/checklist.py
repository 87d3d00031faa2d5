"""`checklist`: manual work a person ticks off item by item (what automation does not do yet)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from runbook.spec.models import FieldType, InputField
from runbook.steps.base import Outputs, Params, StepContext, StepKind


class ChecklistParams(Params):
    items: Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]], Field(min_length=1, max_length=25)]
    require_all: bool = True


class ChecklistOutputs(Outputs):
    done: list[str]
    missing: list[str]
    complete: bool


def field_name(index: int) -> str:
    return f"item_{index + 1}"


def gate_fields(params: ChecklistParams) -> dict[str, InputField]:
    return {
        field_name(i): InputField(type=FieldType.bool, title=item, default=False) for i, item in enumerate(params.items)
    }


def run(ctx: StepContext, params: ChecklistParams) -> ChecklistOutputs:
    answers = ctx.decision or {}
    done = [item for i, item in enumerate(params.items) if answers.get(field_name(i)) is True]
    missing = [item for item in params.items if item not in done]
    if params.require_all and missing:
        raise ValueError("not ticked off: " + "; ".join(missing))
    return ChecklistOutputs(done=done, missing=missing, complete=not missing)


KIND = StepKind.of(
    "checklist",
    run,
    human=True,
    gate_fields=gate_fields,
    description="Items a person ticks off; with require_all, an unticked item fails the step",
)
