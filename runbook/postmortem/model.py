"""The typed post-mortem report that `build_report` returns and every renderer reads. The JSON
Schema in docs/postmortem.schema.json is generated from these models: their field descriptions
are the documentation dashboards read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal["1"] = "1"

MetricStatus = Literal["ok", "not_recorded", "withheld", "pending"]
Unit = Literal["seconds", "count", "percent"]
DeviationKind = Literal[
    "skipped",
    "timeout",
    "failed",
    "retried",
    "rejected",
    "cancelled",
    "silence_broken",
    "publishing_at_freeze",
    "start_failed",
    "statement_refused",
]


from runbook.postmortem.concerns import ConcernRow  # noqa: E402 - issue 11: the concerns section


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


_M = TypeVar("_M", bound=BaseModel)


def unchecked(cls: type[_M], fields: frozenset[str], values: dict[str, Any]) -> _M:
    """An instance from values already of the right types (every field given), unvalidated.

    What `model_construct` ends with, minus its per-field bookkeeping: the timeline makes one per
    audit event, and at 100,000 events that bookkeeping was a third of the report's time budget.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class Metric(_Model):
    """One number, never shown without saying where it came from, or why there is none."""

    value: float | None = Field(description="The number (seconds, a count or a percentage); null unless status is ok")
    unit: Unit
    status: MetricStatus = Field(
        description="ok; not_recorded: the trail holds no data for it (never invented); "
        "withheld: the trail failed verification; pending: the incident is "
        "still running and the interval has not ended"
    )
    source: str = Field("", description="How it was computed, in words (which events, which anchor)")
    evidence: Sequence[int] = Field(default_factory=list, description="Audit seq numbers the number rests on")


class Metrics(_Model):
    """Every metric of issue 8, always present (dashboards can rely on the keys)."""

    # One field per metric, by name: a schema dashboards read key by key, not repeated logic.
    duration: Metric = Field(description="incident.started to the closing event")
    time_to_detect: Metric = Field(
        description="The earlier of the first spike alert (the listen_alert named by "
        "listen.alert_linked) and the first mention answering the trigger post, "
        "to incident.started"
    )
    time_to_freeze: Metric = Field(description="incident.started to freeze.created (or the manual freeze step's end)")
    posts_frozen: Metric
    posts_released: Metric
    posts_rescheduled: Metric
    posts_killed: Metric
    time_to_first_statement: Metric = Field(description="incident.started to the first published statement")
    statement_drafts: Metric
    statement_edits: Metric
    signoffs: Metric = Field(description="Sign-off gates opened")
    signoff_wait_median: Metric = Field(description="Median wait of the decided sign-offs")
    signoff_wait_max: Metric
    refused_attempts: Metric = Field(
        description="Decisions the flow refused to count (wrong role, two-person rule, ...)"
    )
    escalations: Metric
    replies_to_answer: Metric = Field(description="Distinct people on the list to answer")
    replies_answered: Metric
    replies_skipped: Metric
    replies_failed: Metric = Field(description="People whose reply failed and was never sent")
    reply_time_median: Metric = Field(
        description="Median of (reply sent - that person's mention), over answered people"
    )
    reply_time_p90: Metric = Field(description="90th percentile (nearest rank) of the same")
    reply_coverage: Metric = Field(description="answered / to answer, in percent")
    deviations: Metric = Field(description="Skips that were not by design, timeouts, failures, rejections")
    follow_ups: Metric = Field(description="Policy follow-ups recorded at the final sign-off")


class IncidentSummary(_Model):
    id: str
    slug: str
    title: str
    playbook_id: str
    playbook_version: int
    severity: str | None = Field(description="From the incident row, or the assessment's choice when the row has none")
    requester: str
    status: str = Field(description="The incident row's status when the report was built")
    channel: str | None
    flow_run_id: str | None
    started_at: datetime | None = Field(description="Time of incident.started (the first event if it is missing)")
    closed_at: datetime | None = Field(description="Time of the closing event (incident.completed/failed/cancelled)")
    outcome: str | None = Field(
        description="completed, failed or cancelled, from the closing event; null while running"
    )


class Problem(_Model):
    seq: int
    kind: str = Field(
        description="hash_mismatch, gap, order, broken_link, checkpoint_mismatch, missing_checkpoint_event"
    )
    message: str


class Verification(_Model):
    ok: bool
    checked: int = Field(description="Events whose hashes were recomputed")
    problems: list[Problem] = Field(default_factory=list, description="Broken entries, first broken first")
    checkpoints: int = Field(description="Checkpoints recorded for the incident")
    head_seq: int | None = Field(description="The last event the report covers")
    head_hash: str | None


class Approval(_Model):
    person: str
    at: datetime
    channel: str
    seq: int
    comment: str = ""


class Refusal(_Model):
    person: str
    at: datetime
    channel: str
    seq: int
    reason: str


class Escalation(_Model):
    at: datetime
    seq: int
    to: list[str]


class Signoff(_Model):
    """One gate of one step, from signoff.requested to its verdict."""

    step: str
    requested_at: datetime
    requested_seq: int
    outcome: Literal["granted", "rejected", "timeout", "pending"]
    decided_at: datetime | None
    decided_seq: int | None
    wait_seconds: float | None = Field(description="requested -> verdict; null while pending")
    quorum: int
    approvers: list[str] = Field(description="Who approved, in order")
    approvals: list[Approval] = Field(default_factory=list)
    rejected_by: str | None = None
    refused: list[Refusal] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    timed_out: bool = False


class PersonReply(_Model):
    person: str
    state: Literal["sent", "skipped", "failed", "drafted", "pending"]
    mentioned_at: datetime | None
    answered_at: datetime | None
    seconds_to_answer: float | None
    evidence: list[int] = Field(default_factory=list)


class DoctrineCheck(_Model):
    label: str
    done: bool | None = Field(
        description="true done; false the playbook called for it and it did not happen; "
        "null nothing about it in the trail (not recorded)"
    )
    at: datetime | None = None
    evidence: list[int] = Field(default_factory=list)
    note: str = ""


class DoctrineStep(_Model):
    number: int = Field(ge=1, le=6)
    title: str
    status: Literal["done", "partial", "not_done", "not_recorded"]
    at: datetime | None = Field(description="When it first happened (earliest evidence)")
    evidence: list[int] = Field(default_factory=list)
    checks: list[DoctrineCheck]


class Deviation(_Model):
    kind: DeviationKind
    step: str | None
    at: datetime
    seq: int
    detail: str


class Reminder(_Model):
    remind_at: datetime
    seq: int = Field(description="The followup.scheduled event (the persisted reminder record)")
    fired_at: datetime | None = None
    fired_seq: int | None = None


class FollowUp(_Model):
    what: str
    owner: str | None = Field(description="null when the sign-off named nobody")
    due: date | None = Field(
        description="Due date; null when none could be read (relative dates count from the sign-off)"
    )
    due_text: str = Field(description="The due date as written")
    source_seq: int = Field(description="The sign-off event the follow-up was read from")
    reminder: Reminder | None = None


class TimelineEntry(_Model):
    seq: int
    at: datetime
    offset_seconds: float | None = Field(description="Since incident.started; null in an unverified report")
    actor: str
    channel: str
    action: str
    step: str | None
    human: bool = Field(description="A person's action (decisions are highlighted)")
    summary: str
    broken: bool = Field(False, description="Named by a verification problem")


class TimelineLine(_Model):
    """A line of the timeline as people read it: one event, or a run of machine events of one step
    folded into one line (`count` > 1). People's actions and broken entries never fold."""

    seq: int
    last_seq: int
    at: datetime
    last_at: datetime
    offset_seconds: float | None
    actor: str
    channel: str
    action: str = Field(description="The action, or `(several)` for a fold of mixed actions")
    step: str | None
    human: bool
    summary: str
    count: int = Field(description="Events on this line")
    broken: bool = False


TIMELINE_FIELDS = frozenset(TimelineEntry.model_fields)
PERSON_FIELDS = frozenset(PersonReply.model_fields)
METRIC_FIELDS = frozenset(Metric.model_fields)


class Span(_Model):
    """A bar of the timeline chart: a step running, a sign-off waiting, the queue frozen."""

    lane: str
    kind: Literal["step", "wait", "freeze"]
    start: datetime
    end: datetime | None = Field(description="null while still open")
    label: str


class Statement(_Model):
    """The statement as published: its full text and where it went."""

    text: str | None = Field(
        description="The approved text (the last draft, edit or approval before publishing); "
        "null when the trail does not hold it"
    )
    text_seq: int | None = Field(description="The event the text was read from")
    published_at: datetime
    seq: int = Field(description="The first statement.published event")
    posts: list[dict[str, str]] = Field(description="One per platform: platform, account, url")


class Bucket(_Model):
    """One bar of a chart: a time slot, how many, and how many of them negative (mentions)."""

    at: datetime
    count: int
    negative: int | None = None


class Series(_Model):
    """What the charts draw, over the incident (not the whole trail's events)."""

    bucket_seconds: int
    mentions: list[Bucket] | None = Field(
        description="Brand mentions per slot from the listening store; null when the store is not there"
    )
    replies: list[Bucket] = Field(description="Individual replies sent per slot (reply.sent)")


class Report(_Model):
    schema_version: Literal["1"] = SCHEMA_VERSION
    generated_at: datetime
    state: Literal["final", "partial", "untrusted"] = Field(
        description="final: closed and verified; partial: verified but still running; untrusted: verification failed"
    )
    notices: list[str] = Field(description="Plain-words warnings shown at the top of every format")
    incident: IncidentSummary
    verification: Verification
    metrics: Metrics
    signoffs: list[Signoff] | None = Field(description="null when withheld")
    replies: Sequence[PersonReply] | None = Field(description="null when withheld; empty when no replies were recorded")
    doctrine: list[DoctrineStep] | None
    deviations: list[Deviation] | None
    follow_ups: list[FollowUp] | None
    spans: list[Span] | None = Field(description="Bars of the timeline chart; null when withheld")
    statement: Statement | None = Field(
        None, description="The published statement; null when none was published or the report is withheld"
    )
    series: Series | None = Field(None, description="Mentions and replies over time; null when withheld")
    timeline_summary: list[TimelineLine] = Field(
        default_factory=list,
        description="The timeline as shown in the report: people's actions one by one, long "
        "runs of machine events folded; every event counted",
    )
    timeline: list[TimelineEntry] = Field(
        default_factory=list, description="Every audited event, in seq order (in the JSON only with `--events`)"
    )
    concerns: list[ConcernRow] | None = Field(
        default=None,
        description="What people were upset about (the assessment's concerns); null when withheld or not assessed",
    )

    @property
    def trusted(self) -> bool:
        return self.state != "untrusted"
