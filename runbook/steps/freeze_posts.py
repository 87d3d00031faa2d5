"""`freeze_posts`: stop every scheduled post in scope. Immediate: `runbook start` runs it before any
worker picks the flow run up; the flow's step then confirms the freeze (a second call for the
same incident returns the first freeze) and records it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from runbook.steps.base import Outputs, Params, StepContext, StepKind


class FreezeParams(Params):
    accounts: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default=["all"], description="Accounts whose posts freeze; [all] for every account"
    )
    reason: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("accounts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        # `accounts: "{{ inputs.accounts }}"` renders to a list; a comma string is accepted too.
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class FreezeOutputs(Outputs):
    freeze_id: str
    frozen: int
    posts: list[str]
    publishing: list[str]  # posts already publishing when the freeze committed, by name
    scope: list[str]
    created: bool
    held_elsewhere: dict[str, int] = {}  # posts in scope another active freeze already holds, per freeze
    remote: dict[str, Any] | None = None  # the remote queues' freeze (runbook.queue.remote), if any


def run(ctx: StepContext, params: FreezeParams) -> FreezeOutputs:
    from runbook.queue.remote import freeze_everything

    engine, problem = ctx.services.db, ctx.services.remote_problem
    result, remote = freeze_everything(
        engine,
        remote=list(ctx.services.remote_queues),
        incident_id=ctx.incident_id,
        actor=ctx.requester,
        channel="flow",
        accounts=params.accounts,
        reason=params.reason or f"incident {ctx.incident_slug}",
        step=ctx.step_id,
    )
    if problem or (remote is not None and (remote.errors or remote.published or remote.uncertain)):
        if ctx.chat is not None:  # the remote half needs people: say so in the incident channel
            ctx.chat.post(
                ctx.channel,
                "\n".join(filter(None, [problem, remote.summary() if remote else None])),
                key=ctx.key("remote"),
            )
    if not result.created:
        ctx.audit("freeze.confirmed", {"freeze": result.id, "frozen": result.frozen})
    if result.publishing and ctx.chat is not None:
        names = "\n".join(f"- {p.label}" for p in result.publishing)
        ctx.chat.post(
            ctx.channel,
            f"Queue frozen ({result.frozen} posts). These were already publishing "
            f"when the freeze committed and may be out:\n{names}",
            key=ctx.key("publishing"),
        )
    return FreezeOutputs(
        freeze_id=result.id,
        frozen=result.frozen,
        posts=result.post_ids,
        publishing=[p.label for p in result.publishing],
        scope=result.scope,
        created=result.created,
        held_elsewhere=result.held_elsewhere,
        remote=remote.to_dict() if remote else None,
    )


# A sign-off on a freeze step confirms it afterwards: the freeze itself never waits.
KIND = StepKind.of(
    "freeze_posts",
    run,
    side_effects=True,
    immediate=True,
    signoff_at="after",
    description="Freeze every scheduled post in scope at once (exact, durable); runs as the incident starts",
)
