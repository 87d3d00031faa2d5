"""Builds the typed post-mortem `Report` of one incident in one streamed pass: the chain is verified
as the events are folded into the sections, and nothing from the fold is used unless it holds. A
failed verification withholds every number and says why.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from runbook.audit.models import TERMINAL_STATUSES, as_utc
from runbook.postmortem.concerns import concerns_from
from runbook.postmortem.deviations import deviations as find_deviations
from runbook.postmortem.doctrine import doctrine
from runbook.postmortem.followups import follow_ups as find_follow_ups
from runbook.postmortem.index import Facts
from runbook.postmortem.metrics import compute, withheld_metrics
from runbook.postmortem.model import IncidentSummary, Problem, Report, TimelineEntry, Verification
from runbook.postmortem.references import resolve as resolve_references
from runbook.postmortem.signoffs import signoffs
from runbook.postmortem.statement import published_statement, series
from runbook.postmortem.timeline import Timeline, spans
from runbook.postmortem.trail import Event, Scan, events, scan


@contextmanager
def _no_collection() -> Iterator[None]:
    # The fold allocates several short-lived objects per audit event: the cyclic collector's
    # passes over the heap (half a million people's state at the largest) cost much and free
    # nothing. Reference counting still frees everything as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Entries(Protocol):
    """Where every event goes as a full timeline row while the trail streams by."""

    def add(self, entry: TimelineEntry) -> None: ...

    def clear(self) -> None: ...


class _Kept(list[TimelineEntry]):
    """`build_report(events=True)`: the rows kept in the report (tests, small trails)."""

    def add(self, entry: TimelineEntry) -> None:
        self.append(entry)


def build_report(
    engine: Engine,
    ref: str,
    *,
    now: datetime | None = None,
    events: bool | Entries = False,
    apart_from: int | None = None,
) -> Report:
    """The report of the incident `ref` (id or slug), from one streamed pass over its trail that
    verifies the chain and folds the events into the sections. Raises runbook.audit.IncidentNotFound.

    `events`: False (the default) keeps no event, only the condensed timeline; True keeps every
    event in `report.timeline`; an `Entries` (the JSON's spool) receives each as it streams by.
    `apart_from`: from how many rows the chain is verified in a second process (see trail.scan).
    """
    now = as_utc(now)
    sink: Entries | None = _Kept() if events is True else events or None
    facts = Facts()
    timeline = Timeline(trusted=True, sink=sink.add if sink is not None else None)

    def fold(event: Event) -> None:
        facts.add(event)
        timeline.add(event)

    with _no_collection():
        found = scan(engine, ref, fold, apart_from=apart_from)
        if not found.ok:
            del facts, timeline  # folded from rows that are not to be trusted
            if sink is not None:
                sink.clear()
            return _untrusted(found, now, sink)
        return _trusted(found, facts, timeline, now, sink)


def _verification(found: Scan) -> Verification:
    v = found.verification
    return Verification(
        ok=v.ok,
        checked=v.checked,
        checkpoints=found.checkpoints,
        problems=[Problem(seq=p.seq, kind=p.kind, message=p.message) for p in v.problems],
        head_seq=found.head_seq,
        head_hash=found.head_hash,
    )


def _summary(found: Scan, facts: Facts | None) -> IncidentSummary:
    i = found.incident
    severity = i.severity
    if facts is not None and severity is None:
        assessed = next((s for s in facts.role("assess") if s.finished is not None), None)
        if assessed is not None and assessed.finished is not None:
            outputs = assessed.finished.details.get("outputs") or {}
            severity = outputs.get("severity") or outputs.get("choice") or None  # assess_impact, or decide
    # Field by field: the trail adds the start, close, outcome and a missing severity, which IncidentSummary
    # requires and the incident row lacks, so model_validate(from_attributes=True) cannot build it.
    return IncidentSummary(
        id=i.id,
        slug=i.slug,
        title=i.title,
        playbook_id=i.playbook_id,
        playbook_version=i.playbook_version,
        severity=severity,
        requester=i.requester,
        status=i.status,
        channel=i.channel,
        flow_run_id=i.flow_run_id,
        started_at=facts.start if facts else None,
        closed_at=facts.closed.ts if facts and facts.closed else None,
        outcome=facts.outcome if facts else None,
    )


def _kept(sink: Entries | None) -> list[TimelineEntry]:
    return sink if isinstance(sink, _Kept) else []


def _untrusted(found: Scan, now: datetime, sink: Entries | None) -> Report:
    problems = found.verification.problems
    broken = ", ".join(f"seq {p.seq} ({p.kind})" for p in problems[:10]) + (" …" if len(problems) > 10 else "")
    notice = (
        f"This incident's audit trail FAILED verification: {len(problems)} broken entr"
        f"{'y' if len(problems) == 1 else 'ies'} ({broken}). The record was changed after it was written, "
        "so this report withholds every metric, the sign-off record, the replies, the doctrine review, the "
        "deviations and the follow-ups. "
        "The events below are shown as stored, unverified. Investigate with `runbook audit verify --json`."
    )
    # A second pass, now that the broken entries are known: they are marked and never folded.
    timeline = Timeline(
        trusted=False, broken=frozenset(p.seq for p in problems), sink=sink.add if sink is not None else None
    )
    for event in events(found.engine, found.incident.id):
        timeline.add(event)
    return Report(
        generated_at=now,
        state="untrusted",
        notices=[notice],
        incident=_summary(found, None),
        verification=_verification(found),
        metrics=withheld_metrics(),
        signoffs=None,
        replies=None,
        doctrine=None,
        deviations=None,
        follow_ups=None,
        spans=None,
        statement=None,
        series=None,
        timeline_summary=timeline.summary(None),
        timeline=_kept(sink),
    )


def _trusted(found: Scan, facts: Facts, timeline: Timeline, now: datetime, sink: Entries | None) -> Report:
    resolve_references(found.engine, facts)
    gates = signoffs(facts)
    people = facts.people
    devs = find_deviations(facts)
    follow = find_follow_ups(facts)
    metrics = compute(
        facts, gates=gates, people=people, replies_recorded=people.recorded, deviations=devs, follow_ups=follow
    )
    notices = []
    if facts.last_event is None:
        notices.append("The audit trail of this incident holds no events: there is nothing to report yet.")
    elif facts.running:
        last = facts.last_event
        status = found.incident.status
        notices.append(
            f"PARTIAL REPORT: the incident is still running (status {status}). It covers "
            f"events up to seq {last.seq} ({last.ts:%Y-%m-%d %H:%M:%S} UTC); intervals still open are "
            "marked pending."
        )
        if status in TERMINAL_STATUSES:
            notices.append(f"The incident row says {status}, but the trail holds no closing event.")
    # Built unvalidated: every section is typed already, and `replies` is the people's compact
    # sequence (half a million people would not fit as models); write_json streams it out.
    return Report.model_construct(
        generated_at=now,
        state="partial" if facts.running else "final",
        notices=notices,
        incident=_summary(found, facts),
        verification=_verification(found),
        metrics=metrics,
        signoffs=gates,
        replies=people,
        doctrine=doctrine(facts, gates=gates, deviations=devs, follow_ups=follow, metrics=metrics),
        deviations=devs,
        follow_ups=follow,
        spans=spans(facts, gates),
        statement=published_statement(facts),
        series=series(facts, found.engine),
        concerns=concerns_from(facts) or None,
        timeline_summary=timeline.summary(facts.start),
        timeline=_kept(sink),
    )
