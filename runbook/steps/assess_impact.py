"""`assess_impact`: how badly the incident hurts, from the stored mentions (runbook.listen.assess):
typed outputs (severity, factors, involves_staff, ...) for later `when:` conditions and templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field, field_validator

from runbook.ports.assessment import Assessment
from runbook.spec.durations import Duration
from runbook.steps.base import Params, StepContext, StepKind


class AssessParams(Params):
    accounts: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default=["all"], description="Brand accounts: handle or platform:handle; [all] for every stored mention"
    )
    offending_post: str | None = Field(default=None, description="Link or ref of the post that caused it")
    since: str | None = Field(
        default=None,
        description="Start of the incident window (ISO time); default: "
        "the offending post's time, else `lookback` before until",
    )
    until: str | None = Field(default=None, description="End of the window (ISO time); default now")
    lookback: Duration = timedelta(hours=24)
    window: Duration = timedelta(hours=1)
    baseline: Duration = timedelta(days=28)
    involves_staff: bool | None = Field(default=None, description="Override the rule-based staff detection")
    media: list[Annotated[str, Field(min_length=2, max_length=200)]] | None = Field(
        default=None, description="Handles and link domains that count as press (default: a built-in list)"
    )
    concerns: bool = Field(default=True, description="Group the negative mentions into concerns")

    @field_validator("accounts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value or None


# One type for the assessment and the step's outputs (runbook.ports.assessment): what
# runbook.listen.assess computes is what later steps read as `steps.<id>.outputs`.
AssessOutputs = Assessment


def _pairs(accounts: list[str]) -> list[tuple[str | None, str]] | None:
    if not accounts or any(a.lower() == "all" for a in accounts):
        return None
    pairs = []
    for account in accounts:
        platform, _, handle = account.rpartition(":")
        pairs.append((platform or None, handle.lstrip("@")))
    return pairs


def _time(value: str | None) -> datetime | None:
    from runbook.audit.models import as_utc

    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else None


def markdown(result: Assessment) -> str:
    lines = [f"### Impact: {result.severity} ({result.score} points)", "", result.summary, "", "**Factors**", ""]
    lines += [f"- {f}" for f in result.factors] or ["- none"]
    lines += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| mentions | {result.volume} |",
        f"| peak per window | {result.peak_window} |",
        f"| usual for these hours | {result.usual_volume} ({result.volume_ratio}x; {result.baseline_mode}) |",
        f"| usual for the peak window | {result.baseline} (peak at {result.ratio}x) |",
        f"| negative | {result.negative_share:.0%} (usually {result.usual_negative_share:.0%}) |",
        f"| press (media) | {result.media_mentions} |",
        f"| reach | {result.reach:,} |",
        f"| audiences | {', '.join(result.audiences) or '-'} |",
        f"| staff involved | {'yes' if result.involves_staff else 'no'} |",
        f"| platforms | {', '.join(f'{k} {v}' for k, v in result.platforms.items()) or '-'} |",
    ]
    if result.concerns:
        lines += [
            "",
            "**What people are upset about**",
            "",
            "| concern | mentions | negative | top authors | example |",
            "|---|---|---|---|---|",
        ]
        for c in result.concerns:
            authors = ", ".join(f"@{a['author']}" for a in c.get("top_authors", [])[:3])
            example = (c["samples"][0] if c.get("samples") else "").replace("|", "/").replace("\n", " ")[:100]
            lines.append(
                f"| {c['id']} {c['label']} | {c['size']} | {c['negative_share']:.0%} | {authors} | {example} |"
            )
    post = result.offending_post
    if post:
        state = {True: "still live", False: "deleted", None: "unknown"}[post.get("live")]
        lines += [
            "",
            f"Offending post {post['ref']}: {state}; {post['answers']} answers, {post['reposts']} reposts, "
            f"{post['quotes']} quotes, {post['screenshots']} mentions of screenshots",
        ]
    return "\n".join(lines)


def run(ctx: StepContext, params: AssessParams) -> AssessOutputs:
    from runbook import audit
    from runbook.audit.models import as_utc
    from runbook.listen.assess import assess
    from runbook.listen.evidence import find_post
    from runbook.listen.refs import post_ref

    engine, channel = ctx.services.db, ctx.services.channel
    ref = post_ref(params.offending_post)
    until = _time(params.until) or ctx.services.now()
    since = _time(params.since)
    if since is None:
        post = find_post(channel, ref)
        posted = post.get("at") if post else None
        since = as_utc(posted) if isinstance(posted, datetime) else until - params.lookback
    # The step's params handed to listen's assess by name: assess is listen's own function (the bench calls
    # it too) and knows no step params, which may not be imported below the steps layer.
    result = assess(
        engine,
        accounts=_pairs(params.accounts),
        since=since,
        until=until,
        window=params.window,
        baseline=params.baseline,
        offending_ref=ref,
        channel=channel,
        involves_staff=params.involves_staff,
        media=params.media,
        concerns=params.concerns,
    )
    audit.update_incident(engine, ctx.incident_id, severity=result.severity)
    hook = ctx.services.artifacts
    if hook is not None:
        try:
            hook(
                kind="markdown",
                key=f"{ctx.incident_slug}-{ctx.step_id}-impact",
                data=markdown(result),
                description=f"Impact assessment: {result.severity}",
            )
            hook(
                kind="table",
                key=f"{ctx.incident_slug}-{ctx.step_id}-authors",
                data=result.top_authors,
                description="Top authors by reach",
            )
            if result.concerns:
                hook(
                    kind="table",
                    key=f"{ctx.incident_slug}-{ctx.step_id}-concerns",
                    data=[
                        {
                            "concern": f"{c['id']} {c['label']}",
                            "mentions": c["size"],
                            "negative": f"{c['negative_share']:.0%}",
                            "example": (c["samples"] or [""])[0][:120],
                        }
                        for c in result.concerns
                    ],
                    description="What people are upset about",
                )
        except Exception:  # noqa: BLE001 - the UI view is not worth failing the assessment for
            ctx.audit("assess.artifact_failed", {})
    if ctx.chat is not None:
        ctx.chat.post(
            ctx.channel,
            "Impact assessment\n" + result.summary + "\n" + "\n".join(f"- {f}" for f in result.factors),
            key=ctx.key("summary"),
        )
    return result


KIND = StepKind.of(
    "assess_impact",
    run,
    description="Assess the incident from its mentions: severity with factors, audiences, staff, spread",
)
