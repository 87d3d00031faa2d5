"""The few lines posted to the incident channel when the post-mortem is ready: the headline numbers
with their status words, the doctrine review at a glance, or a loud warning when the trail is broken.
"""

from __future__ import annotations

from runbook.postmortem import fmt
from runbook.postmortem.model import Report


def summary_text(report: Report) -> str:
    slug = report.incident.slug
    if report.state == "untrusted":
        problems = report.verification.problems
        seqs = fmt.seqs([p.seq for p in problems], limit=6)
        return (
            f"WARNING: the audit trail of {slug} FAILED verification ({len(problems)} broken entries at seq {seqs}). "
            f"The post-mortem withholds every metric. Check it with `runbook audit verify --incident {slug}`."
        )
    m = report.metrics
    head = "Post-mortem" + (" (PARTIAL: incident still running)" if report.state == "partial" else "")
    replies = (
        f"{fmt.value(m.replies_answered)} of {fmt.value(m.replies_to_answer)} answered ({fmt.value(m.reply_coverage)})"
        if m.replies_to_answer.status == "ok"
        else fmt.value(m.replies_answered)
    )
    reminders = sum(1 for f in report.follow_ups or [] if f.reminder is not None)
    lines = [
        f"{head} of {slug}, from its verified audit trail (seq 1-{report.verification.head_seq}):",
        f"duration {fmt.value(m.duration)} · detect {fmt.value(m.time_to_detect)} · freeze {fmt.value(m.time_to_freeze)}"
        f" · first statement {fmt.value(m.time_to_first_statement)}",
        f"sign-offs {fmt.value(m.signoffs)} (median wait {fmt.value(m.signoff_wait_median)}, refused "
        f"{fmt.value(m.refused_attempts)}, escalated {fmt.value(m.escalations)}) · replies: {replies}",
        f"deviations {fmt.value(m.deviations)} · policy follow-ups {fmt.value(m.follow_ups)} ({reminders} reminder(s) set)",
        "doctrine: " + ", ".join(f"{s.number} {fmt.DOCTRINE_WORDS[s.status]}" for s in report.doctrine or []),
        f"full report: `runbook postmortem {slug} --format html -o {slug}.html`",
    ]
    return "\n".join(lines)
