"""What the message-writing kinds (draft_statement, reply_individually) share: the template
context of a step run, built from the incident, the run's inputs and earlier steps' outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook.steps.base import StepContext

if TYPE_CHECKING:
    from runbook.messaging.brand import Brand


def template_context(
    ctx: StepContext, brand: Brand, *, language: str, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`runbook.messaging.context.base_context` for this step's incident and run."""
    from runbook.messaging.context import base_context, incident_info

    return base_context(
        incident=incident_info(ctx.services.db, ctx.incident_id, ctx.incident_slug),
        inputs=ctx.inputs,
        steps=ctx.steps,
        brand=brand,
        language=language,
        extra=extra,
    )
