"""`reply_individually`: one personal reply per person who spoke to the brand about the incident,
drafted from their own words, reviewed in batches at "after" sign-offs (approve, edit, skip per
reply), sent within the rate limit under per-person idempotency keys, and tracked to done. Each
call continues from the tracking table, so a crash anywhere resumes without a double or a loss.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from runbook.errors import ConfigurationError
from runbook.messaging.audience import DEFAULT_BOTS
from runbook.spec.durations import Duration
from runbook.spec.models import FieldType, InputField, TemplatePath
from runbook.steps.base import Outputs, Params, StepContext, StepKind
from runbook.steps.messages import template_context

if TYPE_CHECKING:
    from runbook.messaging.audience import Person
    from runbook.messaging.brand import Brand
    from runbook.messaging.doctrine import MessageChecker
    from runbook.messaging.grouping import Filtered
    from runbook.messaging.replies import ReplyDrafter
    from runbook.messaging.tracking import Scope


class ReplyParams(Params):
    template: TemplatePath = Field(description="Reply template for the default language (replies/*.j2)")
    template_nl: TemplatePath | None = Field(None, description="Reply template for people writing Dutch")
    templates: dict[str, TemplatePath] = Field(
        default_factory=dict,
        description="A template per concern topic (delay, cancellation, baggage, service, staff, refund, outage, post)",
    )
    templates_nl: dict[str, TemplatePath] = Field(default_factory=dict, description="The same for Dutch")
    answer: Literal["complaints", "needs_answer", "all"] = Field(
        "complaints",
        description="Whom to answer: people with a complaint (a negative mention), also people "
        "with a question or a request for help (needs_answer), or everyone (all)",
    )
    group_by_concern: bool = Field(True, description="Group people by the window's concerns (runbook.listen.concerns)")
    topics: dict[str, list[str]] = Field(
        default_factory=dict, description="Topic -> words, to replace the built-in topics of concerns"
    )
    language: Literal["en", "nl"] = "en"
    accounts: list[str] | None = Field(None, description="Brand accounts whose mentions count (default: brand.yaml's)")
    platforms: list[str] | None = None
    since: datetime | None = Field(None, description="Start of the window (default: the incident's start - lookback)")
    until: datetime | None = Field(None, description="End of the window (default: now, at every round)")
    lookback: Duration = timedelta(hours=24)
    about: list[str] = Field(default_factory=list, description="Words or tags a mention must contain (any)")
    in_reply_to: str | None = Field(None, description="The offending post: answers to it always count")
    exclude: list[str] = Field(default_factory=list, description="Handles never answered")
    bots: list[str] = Field(default_factory=lambda: list(DEFAULT_BOTS), description="Bot handle patterns")
    min_followers: Annotated[int, Field(ge=0)] = 0
    languages: list[str] | None = None
    batch_size: Annotated[int, Field(ge=1, le=2000)] = 200
    near_duplicate: Annotated[float, Field(gt=0, le=1)] = 0.8
    rate_limit: str = Field("60/1m", description="At most N replies per period per account: 30/1m, 300/15m")
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    statement: str | None = Field("publish", description="The publish step whose URL replies may point to")
    vars: dict[str, Any] = Field(default_factory=dict)

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from runbook.messaging.sending import RateLimit

        RateLimit.parse(value)
        return value


class ReplyOutputs(Outputs):
    phase: str  # review | done
    awaiting_review: bool  # True: the engine must (re)open the sign-off on this batch
    batch: int | None
    items: list[dict[str, Any]]
    review: str  # the batch as the approvers read it at the sign-off
    review_slack: str  # the same with & < > escaped: people's words must not ping a Slack channel
    coverage: dict[str, int]
    people: int
    answered: int
    coverage_percent: float
    near_duplicates: int
    added: int
    sent: int
    table: list[dict[str, Any]]  # coverage rows for a table artifact
    error: str = ""
    filtered: dict[str, Any] = {}  # who the answer filter kept and left out
    groups: list[dict[str, Any]] = []  # concern groups: id, label, topic, people (handles)


# Declared like thaw_posts' gate_fields (an `actions` text field), in layout only: each kind's
# field has its own title, line syntax and description, which approvers read at the gate.
def gate_fields(params: ReplyParams) -> dict[str, InputField]:
    return {
        "actions": InputField(
            type=FieldType.text,
            title="Change any reply",
            description="One line per reply: 'r17 skip', 'r17 hold', 'r17 approve', or "
            "'r17: new text'; per concern group: 'c2 skip' or 'c2: new text' "
            "({handle} and {quote} filled per person). Unlisted replies are "
            "approved, except flagged ones.",
        ),
        "approve_flagged": InputField(
            type=FieldType.bool,
            default=False,
            title="Approve flagged near-duplicates",
            description="Also approve the unlisted replies flagged as near-duplicates",
        ),
    }


def run(ctx: StepContext, params: ReplyParams) -> ReplyOutputs:
    """One pass: gather new people, draft what is pending, apply the decision to the batch the
    approvers saw, send what is approved, present the next batch (runbook.messaging.reply_run)."""
    from runbook.messaging import reply_run as phases
    from runbook.messaging import tracking as tr
    from runbook.messaging.brand import resolve_brand
    from runbook.messaging.doctrine import MessageChecker
    from runbook.messaging.errors import ReviewError
    from runbook.messaging.sending import RateLimit

    engine, channel = ctx.services.db, ctx.services.channel
    if not isinstance(channel, phases.ReplyChannel):
        raise ConfigurationError(
            f"reply_individually: the channel {getattr(channel, 'name', channel)!r} cannot find "
            "a reply by its key, so a retry could answer twice"
        )
    scope = tr.Scope(ctx.incident_id, ctx.step_id)
    brand = resolve_brand(ctx.services.brand)
    with MessageChecker(brand, checker=ctx.services.checker) as checker:
        drafter = _drafter(ctx, params, brand, checker)
        added, filtered = _gather(ctx, params, scope, brand)
        phases.draft_pending(engine, scope, drafter)
        phases.flag(engine, scope, params.near_duplicate)
        error = ""
        if ctx.decision is not None:
            shown = ((ctx.steps.get(ctx.step_id) or {}).get("outputs") or {}).get("batch")
            try:
                phases.decide(
                    engine,
                    scope,
                    drafter,
                    batch=phases.reviewed_batch(engine, scope, shown),
                    decision=ctx.decision,
                    audit=ctx.audit,
                )
            except ReviewError as exc:  # shown at the next sign-off; nothing of the batch changed
                error = str(exc)
        sent = phases.send(
            engine,
            scope,
            channel,
            limit=RateLimit.parse(params.rate_limit),
            max_attempts=params.max_attempts,
            audit=ctx.audit,
        )
        phases.settle_audits(engine, scope, ctx.audit)
        batch = (
            tr.open_batch(engine, scope)
            if error
            else (tr.open_batch(engine, scope) or tr.present(engine, scope, params.batch_size))
        )
    return ReplyOutputs(
        **phases.outputs(engine, scope, batch=batch, added=len(added), sent=sent, error=error, filtered=filtered)
    )


def _drafter(ctx: StepContext, params: ReplyParams, brand: Brand, checker: MessageChecker) -> ReplyDrafter:
    from runbook.messaging.replies import ReplyDrafter
    from runbook.messaging.templates import Templates

    statement = {}
    if params.statement and params.statement in ctx.steps:
        published = (ctx.steps[params.statement] or {}).get("outputs") or {}
        statement = {"url": published.get("url", ""), "urls": published.get("urls", [])}
    base = template_context(ctx, brand, language=params.language, extra=params.vars)
    base["statement"] = statement or {"url": "", "urls": []}
    names: dict[str, str] = {params.language: params.template}
    if params.template_nl:
        names["nl"] = params.template_nl
    by_topic: dict[str, dict[str, str]] = {}
    for topic, name in params.templates.items():
        by_topic.setdefault(topic, {})[params.language] = name
    for topic, name in params.templates_nl.items():
        by_topic.setdefault(topic, {})["nl"] = name
    return ReplyDrafter(
        templates=Templates(ctx.services.templates_dir),
        template_for=names,
        checker=checker,
        base=base,
        by_topic=by_topic,
    )


def _window(ctx: StepContext, params: ReplyParams) -> tuple[datetime, datetime]:
    from runbook.audit import get_incident
    from runbook.audit.models import as_utc

    until = as_utc(params.until) if params.until else as_utc(None)
    if params.since:
        return as_utc(params.since), until
    incident = get_incident(ctx.services.db, ctx.incident_id)
    start = as_utc(incident.created_at) if incident is not None else until
    return start - params.lookback, until


def _gather(ctx: StepContext, params: ReplyParams, scope: Scope, brand: Brand) -> tuple[list[Person], Filtered]:
    """The people heard in the window who need an answer and are not tracked yet, grouped by concern."""
    from runbook.messaging import tracking as tr
    from runbook.messaging.audience import AudienceFilter, heard_in_window, people_from
    from runbook.messaging.grouping import group_people, keep_needing_answer
    from runbook.messaging.reply_run import plan_people

    engine = ctx.services.db
    since, until = _window(ctx, params)
    own = brand.own_accounts()
    accounts = params.accounts or brand.own_handles() or None
    heard = heard_in_window(engine, accounts=accounts, platforms=params.platforms, since=since, until=until)
    keep = AudienceFilter.build(
        own_accounts=own | {a.casefold() for a in (params.accounts or [])},
        bots=[*params.bots, *brand.profile.bots],
        about=params.about,
        in_reply_to=params.in_reply_to,
        languages=params.languages,
        min_followers=params.min_followers,
        exclude=params.exclude,
    )
    people, filtered = keep_needing_answer(people_from(heard, keep, default_language=params.language), params.answer)
    known = tr.known_people(engine, scope)
    fresh = [p for p in people if p.key not in known]
    if fresh and params.group_by_concern:
        topics = {k: tuple(v) for k, v in params.topics.items()} or None
        filtered.groups = group_people(engine, fresh, accounts=accounts, since=since, until=until, topics=topics)
    added = plan_people(
        engine, scope, fresh, key_prefix=ctx.key(""), since=since, until=until, filtered=filtered, audit=ctx.audit
    )
    return added, filtered


KIND = StepKind.of(
    "reply_individually",
    run,
    side_effects=True,
    signoff_at="after",
    gate_fields=gate_fields,
    rerun_after_signoff=True,
    description="Answer every person personally: one checked draft per person, reviewed in batches, "
    "sent once within the rate limit, tracked to done",
)
