"""`reply_individually`: one personal reply per person who spoke to the brand about the incident,
drafted from their own words, reviewed in batches at "after" sign-offs (approve, edit, skip per
reply), sent within the rate limit under per-person idempotency keys, and tracked to done. Each
call continues from the tracking table, so a crash anywhere resumes without a double or a loss.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from runbook.messaging.audience import DEFAULT_BOTS
from runbook.spec.durations import Duration
from runbook.spec.models import FieldType, InputField, TemplatePath
from runbook.steps.base import Outputs, Params, StepContext, StepKind


class ReplyParams(Params):
    template: TemplatePath = Field(description="Reply template for the default language (replies/*.j2)")
    template_nl: TemplatePath | None = Field(None, description="Reply template for people writing Dutch")
    templates: dict[str, TemplatePath] = Field(default_factory=dict, description="A template per concern topic "
                                               "(delay, cancellation, baggage, service, staff, refund, outage, post)")
    templates_nl: dict[str, TemplatePath] = Field(default_factory=dict, description="The same for Dutch")
    answer: Literal["complaints", "needs_answer", "all"] = Field(
        "complaints", description="Whom to answer: people with a complaint (a negative mention), also people "
                                  "with a question or a request for help (needs_answer), or everyone (all)")
    group_by_concern: bool = Field(True, description="Group people by the window's concerns (runbook.listen.concerns)")
    topics: dict[str, list[str]] = Field(default_factory=dict, description="Topic -> words, to replace the "
                                                                           "built-in topics of concerns")
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


def gate_fields(params: ReplyParams) -> dict[str, InputField]:
    return {
        "actions": InputField(type=FieldType.text, title="Change any reply",
                              description="One line per reply: 'r17 skip', 'r17 hold', 'r17 approve', or "
                                          "'r17: new text'; per concern group: 'c2 skip' or 'c2: new text' "
                                          "({handle} and {quote} filled per person). Unlisted replies are "
                                          "approved, except flagged ones."),
        "approve_flagged": InputField(type=FieldType.bool, default=False, title="Approve flagged near-duplicates",
                                      description="Also approve the unlisted replies flagged as near-duplicates"),
    }


def run(ctx: StepContext, params: ReplyParams) -> ReplyOutputs:
    from runbook.messaging import reply_run

    return ReplyOutputs(**reply_run.run(ctx, params))


KIND = StepKind(
    name="reply_individually",
    params=ReplyParams,
    outputs=ReplyOutputs,
    run=run,
    side_effects=True,
    signoff_at="after",
    gate_fields=gate_fields,
    rerun_after_signoff=True,
    description="Answer every person personally: one checked draft per person, reviewed in batches, sent once "
                "within the rate limit, tracked to done",
)
