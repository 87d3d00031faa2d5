"""Builds the typed post-mortem `Report` of one incident: verify the chain first, then compute every
section from the verified events. A failed verification withholds every number and says why.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.engine import Engine

from runbook.audit.models import TERMINAL_STATUSES, as_utc
from runbook.postmortem.deviations import deviations as find_deviations
from runbook.postmortem.doctrine import doctrine
from runbook.postmortem.followups import follow_ups as find_follow_ups
from runbook.postmortem.index import Facts, index
from runbook.postmortem.metrics import compute, withheld_metrics
from runbook.postmortem.model import IncidentSummary, Problem, Report, Verification
from runbook.postmortem.references import resolve as resolve_references
from runbook.postmortem.replies import replies
from runbook.postmortem.signoffs import signoffs
from runbook.postmortem.statement import published_statement, series
from runbook.postmortem.timeline import entries, spans, summary_lines
from runbook.postmortem.trail import Trail, load_trail


@contextmanager
def _no_collection() -> Iterator[None]:
    # The report allocates several objects per audit event and keeps them all: at 100,000 events
    # the cyclic collector's passes over the growing heap cost up to a third of the build and
    # free nothing. Reference counting still frees everything as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


from runbook.postmortem.concerns import concerns_from  # noqa: E402 - issue 11: the concerns section


def build_report(engine: Engine, ref: str, *, now: datetime | None = None) -> Report:
    """The report of the incident `ref` (id or slug). Raises runbook.audit.IncidentNotFound."""
    with _no_collection():
        return report_from_trail(load_trail(engine, ref), now=now)


def _verification(trail: Trail) -> Verification:
    v = trail.verification
    return Verification(ok=v.ok, checked=v.checked, checkpoints=len(trail.checkpoints),
                        problems=[Problem(seq=p.seq, kind=p.kind, message=p.message) for p in v.problems],
                        head_seq=trail.events[-1].seq if trail.events else None, head_hash=trail.head_hash)


def _summary(trail: Trail, facts: Facts | None) -> IncidentSummary:
    i = trail.incident
    severity = i.severity
    if facts is not None and severity is None:
        assessed = next((s for s in facts.role("assess") if s.finished is not None), None)
        if assessed is not None:
            outputs = assessed.finished.details.get("outputs") or {}
            severity = outputs.get("severity") or outputs.get("choice") or None  # assess_impact, or decide
    return IncidentSummary(
        id=i.id, slug=i.slug, title=i.title, playbook_id=i.playbook_id, playbook_version=i.playbook_version,
        severity=severity, requester=i.requester, status=i.status, channel=i.channel, flow_run_id=i.flow_run_id,
        started_at=facts.start if facts else None, closed_at=facts.closed.ts if facts and facts.closed else None,
        outcome=facts.outcome if facts else None)


def _untrusted(trail: Trail, now: datetime) -> Report:
    problems = trail.verification.problems
    broken = ", ".join(f"seq {p.seq} ({p.kind})" for p in problems[:10]) + (" …" if len(problems) > 10 else "")
    notice = (f"This incident's audit trail FAILED verification: {len(problems)} broken entr"
              f"{'y' if len(problems) == 1 else 'ies'} ({broken}). The record was changed after it was written, "
              "so this report withholds every metric, the sign-off record, the replies, the doctrine review, the "
              "deviations and the follow-ups. "
              "The events below are shown as stored, unverified. Investigate with `runbook audit verify --json`.")
    facts = index(trail.events)
    return Report(generated_at=now, state="untrusted", notices=[notice], incident=_summary(trail, None),
                  verification=_verification(trail), metrics=withheld_metrics(), signoffs=None, replies=None,
                  doctrine=None, deviations=None, follow_ups=None, spans=None,
                  **_timeline(entries(facts, broken={p.seq for p in problems}, trusted=False)))


def _timeline(timeline: list) -> dict:
    return {"timeline": timeline, "timeline_summary": summary_lines(timeline)}


def report_from_trail(trail: Trail, *, now: datetime | None = None) -> Report:
    now = as_utc(now)
    if not trail.ok:
        return _untrusted(trail, now)
    facts = index(trail.events)
    if trail.engine is not None:
        resolve_references(trail.engine, facts)
    gates = signoffs(facts)
    people, recorded = replies(facts)
    devs = find_deviations(facts)
    follow = find_follow_ups(facts)
    metrics = compute(facts, gates=gates, people=people, replies_recorded=recorded, deviations=devs,
                      follow_ups=follow)
    notices = []
    if not facts.events:
        notices.append("The audit trail of this incident holds no events: there is nothing to report yet.")
    elif facts.running:
        last = facts.events[-1]
        notices.append(f"PARTIAL REPORT: the incident is still running (status {trail.incident.status}). It covers "
                       f"events up to seq {last.seq} ({last.ts:%Y-%m-%d %H:%M:%S} UTC); intervals still open are "
                       "marked pending.")
        if trail.incident.status in TERMINAL_STATUSES:
            notices.append(f"The incident row says {trail.incident.status}, but the trail holds no closing event.")
    return Report(
        generated_at=now, state="partial" if facts.running else "final", notices=notices,
        incident=_summary(trail, facts), verification=_verification(trail), metrics=metrics, signoffs=gates,
        replies=people, doctrine=doctrine(facts, gates=gates, deviations=devs, follow_ups=follow, metrics=metrics),
        deviations=devs, follow_ups=follow, spans=spans(facts, gates), statement=published_statement(facts),
        series=series(facts, trail.engine), concerns=concerns_from(facts) or None,
        **_timeline(entries(facts, broken=set(), trusted=True)))
