"""The metrics of issue 8, computed only from the verified trail (via `Facts`). A metric whose events
are absent is `not_recorded` with the reason in words; one whose interval is still open is `pending`.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from runbook.postmortem import fmt
from runbook.postmortem import names as n
from runbook.postmortem.index import Facts, StepFacts, finished
from runbook.postmortem.model import METRIC_FIELDS, Deviation, FollowUp, Metric, Metrics, Signoff, Unit, unchecked
from runbook.postmortem.replies import People


def _tidy(evidence: Sequence[int] | None) -> Sequence[int]:
    """Sorted, each seq once; evidence that already is (the people's flat arrays, possibly a
    million long) is kept as it is rather than copied."""
    if not evidence:
        return []
    if isinstance(evidence, array) or fmt.increasing(evidence):
        return evidence
    return sorted(set(evidence))


def ok(value: float, unit: Unit, source: str, evidence: Sequence[int] | None = None) -> Metric:
    # Unvalidated: the values are typed here, and evidence may be long and shared between metrics.
    return unchecked(
        Metric,
        METRIC_FIELDS,
        {"value": float(value), "unit": unit, "status": "ok", "source": source, "evidence": _tidy(evidence)},
    )


def missing(unit: Unit, source: str) -> Metric:
    return Metric(value=None, unit=unit, status="not_recorded", source=source)


def pending(unit: Unit, source: str, evidence: list[int] | None = None) -> Metric:
    return Metric(value=None, unit=unit, status="pending", source=source, evidence=evidence or [])


def withheld(unit: Unit) -> Metric:
    return Metric(
        value=None,
        unit=unit,
        status="withheld",
        source="withheld: the audit trail failed verification, so no number from it can be trusted",
    )


def since_start(facts: Facts, ts: datetime) -> float:
    offset = facts.offset(ts)
    assert offset is not None, "an event was recorded, so the incident has a start"
    return offset


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile: the smallest value with at least 90% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]


def _when(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def _gone(facts: Facts, steps: list[StepFacts], unit: Unit, what: str) -> Metric:
    """A step-based metric with no data: pending while that step can still happen."""
    if steps and facts.running and any(s.outcome in ("running", "not_reached") for s in steps):
        return pending(unit, f"{what}: step {steps[0].id} has not finished yet")
    if steps:
        step = steps[0]
        return missing(
            unit,
            f"{what}: step {step.id} ({step.uses or 'kind not recorded'}) {step.outcome_words} without recording it",
        )
    return missing(unit, f"{what}: the playbook has no such step and the trail holds no such event")


# -- detection and silence ---------------------------------------------------------------------


def detection_signals(facts: Facts) -> list[tuple[datetime, str, int]]:
    """(time, what, seq of the event naming it), earliest first: the listening alert's opening and
    the first mention answering the trigger post, both looked up from the rows the trail names."""
    from runbook.postmortem.references import alert_ids, trigger_refs

    found = [
        (facts.alert_opened[alert], "first spike alert (listen_alert.opened_at)", seq)
        for alert, seq in alert_ids(facts).items()
        if alert in facts.alert_opened
    ]
    found += [
        (facts.first_mentions[t.ref], f"first mention of the trigger post {t.ref} (mention.created_at)", t.seq)
        for t in trigger_refs(facts)
        if t.ref in facts.first_mentions
    ]
    return sorted(found)


def time_to_detect(facts: Facts) -> Metric:
    signals = detection_signals(facts)
    if not signals:
        return missing(
            "seconds", "no spike alert (listen.alert_linked) and no first mention of a trigger post the trail names"
        )
    start = facts.start
    if start is None:
        return missing("seconds", "the trail holds no events")
    before = [s for s in signals if s[0] <= start]
    if not before:
        return missing(
            "seconds",
            f"the first alert or mention recorded ({_when(signals[0][0])}) came after the "
            "incident started: the team found it first",
        )
    at, label, seq = before[0]
    evidence = [seq] + ([facts.started.seq] if facts.started else [])
    return ok((start - at).total_seconds(), "seconds", f"{label} ({_when(at)}) to incident.started", evidence)


def time_to_freeze(facts: Facts) -> Metric:
    created = facts.first(n.FREEZE_CREATED)
    if created is not None:
        return ok(since_start(facts, created.ts), "seconds", "incident.started to freeze.created", [created.seq])
    steps = facts.role("freeze")
    for done, end in finished(steps)[:1]:
        return ok(
            since_start(facts, end.ts),
            "seconds",
            f"incident.started to the end of the manual step {done.id} (a person confirmed the freeze)",
            [end.seq],
        )
    return _gone(facts, steps, "seconds", "no freeze recorded")


def _post_ids(events) -> set[str]:
    return {str(e.details.get("post")) for e in events if e.details.get("post")}


def post_counts(facts: Facts) -> dict[str, Metric]:
    created = facts.all(n.FREEZE_CREATED)
    joined = [e for e in facts.all(n.POST_FROZEN) if not e.details.get("thaw")]
    keys = ("posts_frozen", "posts_released", "posts_rescheduled", "posts_killed")
    if not created and not joined:
        why = "no freeze.created in the trail"
        if facts.role("freeze"):
            why += " (the freeze step is manual: which posts it paused is not recorded)"
        return {key: missing("count", why) for key in keys}
    frozen = {str(p) for e in created for p in e.details.get("posts") or ()} | _post_ids(joined)
    out = {
        "posts_frozen": ok(
            len(frozen),
            "count",
            "posts in freeze.created, plus post.frozen for posts scheduled during the freeze",
            [e.seq for e in created + joined],
        )
    }
    applied = facts.all(n.THAW_APPLIED)
    for key, action in (
        ("posts_released", n.POST_RELEASED),
        ("posts_rescheduled", n.POST_RESCHEDULED),
        ("posts_killed", n.POST_KILLED),
    ):
        events = facts.all(action)
        if events or applied:
            out[key] = ok(
                len(_post_ids(events)),
                "count",
                f"distinct posts in {action}",
                [e.seq for e in events] + [e.seq for e in applied],
            )
        elif facts.running:
            out[key] = pending("count", "the queue has not been thawed yet")
        else:
            out[key] = ok(0, "count", f"no thaw was applied: the incident closed with {len(frozen)} post(s) frozen")
    return out


# -- statement ---------------------------------------------------------------------------------


def time_to_first_statement(facts: Facts) -> Metric:
    published = facts.first(n.STATEMENT_PUBLISHED)
    if published is not None:
        return ok(
            since_start(facts, published.ts), "seconds", "incident.started to statement.published", [published.seq]
        )
    steps = facts.role("publish")
    for done, end in finished(steps)[:1]:
        manual = done.uses != "publish"
        how = " (a person confirmed it was published)" if manual else ""
        return ok(
            since_start(facts, end.ts), "seconds", f"incident.started to the end of step {done.id}{how}", [end.seq]
        )
    return _gone(facts, steps, "seconds", "no statement published")


def statement_counts(facts: Facts) -> tuple[Metric, Metric]:
    steps = {s.id for s in facts.role("statement")}
    drafted = facts.all(n.STATEMENT_DRAFTED)
    drafts = (
        ok(len(drafted), "count", "statement.drafted events", [e.seq for e in drafted])
        if drafted
        else missing(
            "count",
            "no statement.drafted in the trail"
            + (" (the statement step is manual: drafts happen outside the product)" if steps else ""),
        )
    )
    # Versions in order: drafts, the kind's recorded edits, and any text an approver gave at the
    # sign-off. An edit seen at the gate and again in statement.edited is one change, not two.
    latest, changes, evidence = None, 0, []
    for event in facts.all(n.STATEMENT_DRAFTED, n.STATEMENT_EDITED, n.SIGNOFF_APPROVED):
        if event.action in (n.STATEMENT_DRAFTED, n.STATEMENT_EDITED):
            text = event.details.get("text")
        elif event.action == n.SIGNOFF_APPROVED and event.step in steps:
            text = (event.details.get("fields") or {}).get("text")
        else:
            continue
        if not isinstance(text, str) or not text.strip():
            continue
        if latest is not None and text.strip() != latest:
            changes += 1
            evidence.append(event.seq)
        latest = text.strip()
    if latest is None:
        return drafts, _gone(facts, facts.role("statement"), "count", "no statement text recorded")
    return drafts, ok(
        changes,
        "count",
        "changes of the statement's text after its first version (drafts, statement.edited, approvers' texts)",
        evidence,
    )


# -- sign-offs, replies, the rest ----------------------------------------------------------------


def signoff_metrics(gates: list[Signoff]) -> dict[str, Metric]:
    decided = [
        (g.wait_seconds, g.decided_seq) for g in gates if g.wait_seconds is not None and g.decided_seq is not None
    ]
    waits = [wait for wait, _ in decided]
    ev = [seq for _, seq in decided]
    refused = [r.seq for g in gates for r in g.refused]
    escalated = [e.seq for g in gates for e in g.escalations]
    none = "no sign-off was decided yet" if gates else "no sign-off was requested"
    return {
        "signoffs": ok(len(gates), "count", "signoff.requested events", [g.requested_seq for g in gates]),
        "signoff_wait_median": ok(statistics.median(waits), "seconds", "median of requested -> verdict", ev)
        if waits
        else missing("seconds", none),
        "signoff_wait_max": ok(max(waits), "seconds", "longest requested -> verdict", ev)
        if waits
        else missing("seconds", none),
        "refused_attempts": ok(len(refused), "count", "signoff.refused events", refused),
        "escalations": ok(len(escalated), "count", "signoff.escalated events", escalated),
    }


def reply_metrics(facts: Facts, people: People, recorded: bool) -> dict[str, Metric]:
    keys = (
        "replies_to_answer",
        "replies_answered",
        "replies_skipped",
        "replies_failed",
        "reply_time_median",
        "reply_time_p90",
        "reply_coverage",
    )
    units: dict[str, Unit] = {"reply_time_median": "seconds", "reply_time_p90": "seconds", "reply_coverage": "percent"}
    steps = facts.role("replies")
    if not recorded:
        out = {
            k: _gone(facts, steps, units.get(k, "count"), "no reply events (reply.*, replies.planned)") for k in keys
        }
        manual = _manual_answered(facts, steps)
        if manual is not None:
            out["replies_answered"] = manual
        return out
    answered = people.count("sent")
    waits = people.waits()
    # Two lists shared by the metrics that rest on them: at half a million people each is large.
    everyone, sent = people.evidence(), people.evidence("sent")
    out = {
        "replies_to_answer": ok(
            len(people), "count", "distinct people in replies.planned and reply.* events", everyone
        ),
        "replies_answered": ok(answered, "count", "people with a reply.sent", sent),
        "replies_skipped": ok(
            people.count("skipped"),
            "count",
            "people with a reply.skipped and no reply sent",
            people.evidence("skipped"),
        ),
        "replies_failed": ok(
            people.count("failed"),
            "count",
            "people whose reply.failed was never followed by a reply.sent",
            people.evidence("failed"),
        ),
    }
    if waits:
        out["reply_time_median"] = ok(
            statistics.median(waits), "seconds", "median of reply.sent - the person's mention", sent
        )
        out["reply_time_p90"] = ok(p90(waits), "seconds", "nearest-rank p90 of the same", sent)
    else:
        why = "no reply sent yet" if not answered else "the reply events carry no mention time"
        out["reply_time_median"] = missing("seconds", why)
        out["reply_time_p90"] = missing("seconds", why)
    out["reply_coverage"] = (
        ok(round(100.0 * answered / len(people), 1), "percent", "answered / to answer", everyone)
        if len(people)
        else missing("percent", "nobody on the list to answer")
    )
    return out


def _manual_answered(facts: Facts, steps: list[StepFacts]) -> Metric | None:
    ids = {s.id for s in steps}
    for event in reversed(facts.all(n.SIGNOFF_GRANTED)):
        value = (event.details.get("fields") or {}).get("answered")
        if event.step in ids and isinstance(value, int) and not isinstance(value, bool):
            return ok(
                value,
                "count",
                f"given by a person at the {event.step} sign-off (not counted by the product)",
                [event.seq],
            )
    return None


def duration(facts: Facts) -> Metric:
    if facts.closed is None:
        return pending("seconds", "the incident is still running")
    evidence = [facts.closed.seq] + ([facts.started.seq] if facts.started else [])
    return ok(since_start(facts, facts.closed.ts), "seconds", f"incident.started to {facts.closed.action}", evidence)


def compute(
    facts: Facts,
    *,
    gates: list[Signoff],
    people: People,
    replies_recorded: bool,
    deviations: list[Deviation],
    follow_ups: list[FollowUp],
) -> Metrics:
    if not facts.count:
        return withheld_metrics("not_recorded")
    drafts, edits = statement_counts(facts)
    review = facts.role("review")
    if follow_ups:
        follow = ok(
            len(follow_ups), "count", "lines of the final sign-off's follow_ups field", [follow_ups[0].source_seq]
        )
    else:
        follow = _gone(facts, review, "count", "no sign-off recorded policy follow-ups")
    return Metrics(
        duration=duration(facts),
        time_to_detect=time_to_detect(facts),
        time_to_freeze=time_to_freeze(facts),
        **post_counts(facts),
        time_to_first_statement=time_to_first_statement(facts),
        statement_drafts=drafts,
        statement_edits=edits,
        **signoff_metrics(gates),
        **reply_metrics(facts, people, replies_recorded),
        deviations=ok(
            len(deviations),
            "count",
            "skips not by design, timeouts, failures, retries, rejections",
            [d.seq for d in deviations],
        ),
        follow_ups=follow,
    )


def withheld_metrics(status: Literal["withheld", "not_recorded"] = "withheld") -> Metrics:
    units: dict[str, Unit] = {
        name: (
            "seconds"
            if name.startswith(("time", "duration", "signoff_wait", "reply_time"))
            else "percent"
            if name == "reply_coverage"
            else "count"
        )
        for name in Metrics.model_fields
    }
    if status == "withheld":
        return Metrics(**{name: withheld(unit) for name, unit in units.items()})
    return Metrics(**{name: missing(unit, "the trail holds no events") for name, unit in units.items()})
