"""An example third-party step kind: record that an incident's evidence is under legal hold.

It imports only from `runbook` (the public API), declares typed params and outputs, and writes
one audit event through the context; the engine does the rest (Prefect task, sign-off, audit).
"""

from __future__ import annotations

from pydantic import Field

from runbook import Outputs, Params, StepContext, StepKind


class LegalHoldParams(Params):
    matter: str = Field(min_length=1, description="The legal matter the evidence is held for")
    days: int = Field(default=365, ge=1, le=3650, description="How long the evidence is kept")


class LegalHoldOutputs(Outputs):
    matter: str
    until_days: int


def legal_hold(ctx: StepContext, params: LegalHoldParams) -> LegalHoldOutputs:
    ctx.audit("legal.hold", {"matter": params.matter, "days": params.days})
    return LegalHoldOutputs(matter=params.matter, until_days=params.days)


LEGAL_HOLD = StepKind(
    name="legal_hold",
    params=LegalHoldParams,
    outputs=LegalHoldOutputs,
    run=legal_hold,
    description="Put the incident's evidence under legal hold for a matter",
)
