"""`postmortem`: the review step. Writes the post-mortem from the verified audit trail, sets reminders
for the policy follow-ups the review's sign-off gave, attaches the report as a markdown artifact
through the optional `artifacts` hook (step kinds never import Prefect) and posts a summary.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from runbook.steps.base import Outputs, Params, StepContext, StepKind

_NOT_KEY = re.compile(r"[^a-z0-9-]+")


class PostmortemParams(Params):
    remind_hour_utc: Annotated[int, Field(ge=0, le=23)] = 9
    # A broken trail fails the step, so the incident cannot close as "completed" on a record
    # that was changed; the report (with its warning) is attached and posted first.
    fail_if_untrusted: bool = True


class PostmortemOutputs(Outputs):
    state: str  # final | partial | untrusted
    verified: bool
    head_seq: int | None
    metrics: dict[str, float | None]  # value when recorded, None otherwise (the report says why)
    follow_ups: list[dict[str, Any]]
    reminders: int
    artifact: str | None
    summary: str


def _artifact_key(slug: str) -> str:
    # Prefect artifact keys allow lowercase letters, digits and dashes only.
    return _NOT_KEY.sub("-", f"{slug}-postmortem".lower()).strip("-")[:200]


def run(ctx: StepContext, params: PostmortemParams) -> PostmortemOutputs:
    from runbook.postmortem import build_report, reminders, render_markdown
    from runbook.postmortem.summary import summary_text

    engine = ctx.services.db
    report = build_report(engine, ctx.incident_id)
    if report.trusted and report.follow_ups:
        # The report already joined each follow-up to its reminder: a retried step adds none.
        existing = {(f.source_seq, i) for i, f in enumerate(report.follow_ups) if f.reminder is not None}
        if reminders.schedule(
            engine,
            incident_id=ctx.incident_id,
            follow_ups=report.follow_ups,
            step=ctx.step_id,
            existing=existing,
            hour=params.remind_hour_utc,
        ):
            report = build_report(engine, ctx.incident_id)
    key = None
    hook = ctx.services.artifacts
    if hook is not None:
        # The same hook contract as assess_impact: hook(kind=..., key=..., data=..., description=...).
        try:
            hook(
                kind="markdown",
                key=_artifact_key(ctx.incident_slug),
                data=render_markdown(report),
                description=f"Post-mortem of {ctx.incident_slug} ({report.state})",
            )
            key = _artifact_key(ctx.incident_slug)
        except Exception as exc:  # noqa: BLE001 - the UI view is not worth failing the review for
            ctx.audit("postmortem.artifact_failed", {"error": f"{type(exc).__name__}: {exc}"[:500]})
    text = summary_text(report)
    if ctx.chat is not None:
        ctx.chat.post(ctx.channel, text, key=ctx.key("summary"))
    if report.state == "untrusted" and params.fail_if_untrusted:
        raise RuntimeError(f"the audit trail of {ctx.incident_slug} failed verification; see the post-mortem")
    metrics = {name: (m.value if m.status == "ok" else None) for name, m in report.metrics}
    follow = [
        {
            "what": f.what,
            "owner": f.owner,
            "due": f.due.isoformat() if f.due else None,
            "remind_at": f.reminder.remind_at.isoformat() if f.reminder else None,
        }
        for f in report.follow_ups or []
    ]
    return PostmortemOutputs(
        state=report.state,
        verified=report.verification.ok,
        head_seq=report.verification.head_seq,
        metrics=metrics,
        follow_ups=follow,
        reminders=sum(1 for f in follow if f["remind_at"]),
        artifact=key,
        summary=text,
    )


KIND = StepKind.of(
    "postmortem",
    run,
    side_effects=True,
    description="Write the post-mortem from the verified audit trail, set follow-up reminders, post a summary",
)
