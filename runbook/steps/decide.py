"""`decide`: a person chooses among options (delete the post or keep it); the choice is the output."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from runbook.spec.models import FieldType, InputField
from runbook.steps.base import Outputs, Params, StepContext, StepKind


class DecideParams(Params):
    options: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(min_length=2, max_length=10)]
    note: str | None = None


class DecideOutputs(Outputs):
    """The choice, plus any extra fields the step's sign-off asked for (e.g. `affected`)."""

    choice: str


def gate_fields(params: DecideParams) -> dict[str, InputField]:
    return {
        "choice": InputField(
            type=FieldType.choice, options=params.options, required=True, title=params.note or "Your decision"
        )
    }


def run(ctx: StepContext, params: DecideParams) -> DecideOutputs:
    answers = dict(ctx.decision or {})
    choice = answers.pop("choice", None)
    if choice not in params.options:
        raise ValueError(f"the decision must choose one of {', '.join(params.options)}, got {choice!r}")
    return DecideOutputs(choice=choice, **answers)


KIND = StepKind.of(
    "decide",
    run,
    human=True,
    gate_fields=gate_fields,
    description="A person chooses among options; later steps can branch on steps.<id>.outputs.choice",
)
