"""`notify`: posts a message (inline text or a template file) to the incident channel, once."""

from __future__ import annotations

from pydantic import model_validator

from runbook.spec import expressions
from runbook.spec.models import TemplatePath
from runbook.steps.base import Outputs, Params, StepContext, StepKind


class NotifyParams(Params):
    message: str | None = None
    template: TemplatePath | None = None

    # The same shape as channels.config.SecretRef's check ("exactly one of two"); a shared helper would tie
    # a step's parameters to the channels file's model for three lines.
    @model_validator(mode="after")
    def _one_source(self) -> NotifyParams:
        if (self.message is None) == (self.template is None):
            raise ValueError("give either `message` or `template`")
        return self


class NotifyOutputs(Outputs):
    text: str
    ref: str | None = None


def run(ctx: StepContext, params: NotifyParams) -> NotifyOutputs:
    variables = expressions.expression_context(
        inputs=ctx.inputs, steps=ctx.steps, incident={"id": ctx.incident_id, "slug": ctx.incident_slug}
    )
    if params.template is not None:
        source = (ctx.services.templates_dir / params.template).read_text(encoding="utf-8")
    else:
        source = params.message or ""
    text = expressions.render_text(source, variables)
    ref = ctx.chat.post(ctx.channel, text, key=ctx.key("notify")) if ctx.chat is not None else None
    return NotifyOutputs(text=text, ref=str(ref) if ref is not None else None)


KIND = StepKind.of("notify", run, side_effects=True, description="Post a message to the incident channel")
