"""An example third-party step kind: record that an incident's evidence is under legal hold.

It imports only from `runbook` (the public API), declares typed params and outputs, reads the
clock from the typed services the engine hands every kind, and writes one audit event through the
context; the engine does the rest (Prefect task, sign-off, audit).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from runbook import Outputs, Params, StepContext, StepKind


class LegalHoldParams(Params):
    matter: str = Field(min_length=1, description="The legal matter the evidence is held for")
    days: int = Field(default=365, ge=1, le=3650, description="How long the evidence is kept")


class LegalHoldOutputs(Outputs):
    matter: str
    until_days: int
    until: str  # the last day of the hold (ISO date)


def legal_hold(ctx: StepContext, params: LegalHoldParams) -> LegalHoldOutputs:
    until = (ctx.services.now() + timedelta(days=params.days)).date().isoformat()
    ctx.audit("legal.hold", {"matter": params.matter, "days": params.days, "until": until})
    return LegalHoldOutputs(matter=params.matter, until_days=params.days, until=until)


# The params and outputs models are read from legal_hold's annotations.
LEGAL_HOLD = StepKind.of("legal_hold", legal_hold, description="Put the incident's evidence under legal hold for a matter")
