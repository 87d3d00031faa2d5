"""The timeline: every audited event as one readable line (actor, channel, what it did), the bars of
the timeline chart, and the condensed view every format shows, folded as the trail streams by so
that its size follows what people did, not how long the trail is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import TIMELINE_FIELDS, Signoff, Span, TimelineEntry, TimelineLine, unchecked
from runbook.postmortem.trail import Event

_NOISE = frozenset({"flow_run_id", "task_run_id", "once"})
SUMMARY_WIDTH = 160


def clip(text: Any, width: int = SUMMARY_WIDTH) -> str:
    text = str(text)
    if len(text) <= width and "\n" not in text and "  " not in text:
        return text  # the common case, checked cheaply: one call per audit event
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _names(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values or "")


def _count(value: Any) -> int:
    return value if isinstance(value, int) else len(value or [])


def _approved(d: dict[str, Any], action: str) -> str:
    fields = d.get("fields") or {}
    said = [f"{k}: {v}" for k, v in fields.items() if k in ("choice", "answered", "text", "follow_ups")]
    return "approved" + (f" ({'; '.join(said)})" if said else "") + (f"; {d['comment']}" if d.get("comment") else "")


def _requested(d: dict[str, Any], action: str) -> str:
    who = _names(d.get("signers"))
    return f"sign-off asked{' of ' + who if who else ''} (quorum {d.get('quorum', 1)})" + (
        f", deadline {d['deadline']}" if d.get("deadline") else ""
    )


def _alert(d: dict[str, Any], action: str) -> str:
    found = d.get("trigger")
    trigger: dict[str, Any] = found if isinstance(found, dict) else {}
    return (
        f"spike alert {str(d.get('alert', ''))[:8]} linked"
        + (" (it started the playbook)" if d.get("auto") else "")
        + (f": {d['headline']}" if d.get("headline") else "")
        + (f"; likely trigger {trigger.get('ref')}" if trigger.get("ref") else "")
    )


def _step_problem(d: dict[str, Any], action: str) -> str:
    return f"{action.split('.')[1].replace('_', ' ')}: {d.get('reason') or d.get('error') or ''}"


# One line per known action, from the details that matter (a dict: one look-up per audit event).
_SUMMARIES: dict[str, Any] = {
    n.INCIDENT_STARTED: lambda d, a: (
        f"started playbook {d.get('playbook', '?')} v{d.get('version', '?')}: {d.get('title', '')}"
    ),
    **{
        action: lambda d, a: f"incident {n.CLOSING[a]}" + (f": {d['reason']}" if d.get("reason") else "")
        for action in n.CLOSING
    },
    "flow.launched": lambda d, a: "flow run created" + (f" (resume {d['generation']})" if d.get("generation") else ""),
    "flow.started": lambda d, a: "flow run started",
    n.SIGNOFF_REQUESTED: _requested,
    n.SIGNOFF_APPROVED: _approved,
    n.SIGNOFF_GRANTED: lambda d, a: (
        f"sign-off granted: {_names(d.get('approvers')) or 'nobody'}" + (" (escalated)" if d.get("escalated") else "")
    ),
    n.SIGNOFF_REFUSED: lambda d, a: f"decision not counted: {d.get('reason', '')}",
    n.SIGNOFF_REJECTED: lambda d, a: "rejected" + (f": {d['comment']}" if d.get("comment") else ""),
    n.SIGNOFF_ESCALATED: lambda d, a: f"escalated to {_names(d.get('to') or d.get('signers'))}",
    n.SIGNOFF_TIMED_OUT: lambda d, a: "sign-off deadline passed",
    n.STEP_STARTED: lambda d, a: (
        f"step started ({d.get('uses', '?')})" + (" at incident start" if d.get("immediate") else "")
    ),
    **{action: lambda d, a: "step finished" for action in n.STEP_FINISHED},
    n.STEP_SKIPPED: _step_problem,
    n.STEP_FAILED: _step_problem,
    n.STEP_ATTEMPT_FAILED: _step_problem,
    n.FREEZE_CREATED: lambda d, a: f"queue frozen: {d.get('frozen', '?')} post(s), scope {_names(d.get('scope'))}",
    n.THAW_PROPOSED: lambda d, a: f"thaw proposed for {len(d.get('proposal') or {})} post(s)",
    n.THAW_APPLIED: lambda d, a: (
        "thaw applied: " + (", ".join(f"{v} {k}" for k, v in (d.get("outcomes") or {}).items()) or "nothing to do")
    ),
    "chat.posted": lambda d, a: f"chat: {str(d.get('text') or '').splitlines()[0] if d.get('text') else ''}",
    n.ALERT_LINKED: _alert,
    n.STATEMENT_DRAFTED: lambda d, a: (
        "draft" + (f" v{d['version']}" if d.get("version") else "") + f": {d.get('text', '')}"
    ),
    n.STATEMENT_EDITED: lambda d, a: f"edited: {d.get('text', '')}",
    n.STATEMENT_CHECKED: lambda d, a: (
        f"statement checked: {_count(d.get('blocking'))} blocking, {_count(d.get('warnings'))} warning(s)"
    ),
    # The publish step records one event per platform (`platform`); older trails listed `platforms`.
    n.STATEMENT_PUBLISHED: lambda d, a: (
        f"statement published on {_names(d.get('platform') or d.get('platforms')) or '?'}"
    ),
    n.REPLIES_PLANNED: lambda d, a: f"{len(d.get('people') or [])} people to answer",
    n.FOLLOWUP_SCHEDULED: lambda d, a: f"reminder set for {d.get('remind_at', '?')}: {d.get('what', '')}",
    n.FOLLOWUP_REMINDED: lambda d, a: f"reminder sent: {d.get('what', '')}",
}


def summary(event: Event) -> str:
    """One line on what the event did, from its action and the details that matter."""
    d, action = event.details, event.action
    known = _SUMMARIES.get(action)
    if known is not None:
        return known(d, action)
    if action.startswith("reply."):
        return f"{action[6:]} reply to {d.get('person') or d.get('author') or '?'}"
    if action.startswith("post."):
        return f"post {d.get('post', '?')} {action[5:]}" + (f" ({d['outcome']})" if d.get("outcome") else "")
    return plain(d)


def plain(d: dict[str, Any]) -> str:
    """Details of an action the report has no sentence for, as words rather than JSON: scalars
    as `name value`, lists and mappings by their size."""
    bits = []
    for key, value in d.items():
        if key in _NOISE or value in (None, "", [], {}):
            continue
        name = key.replace("_", " ")
        if isinstance(value, bool):
            bits.append(name if value else f"not {name}")
        elif isinstance(value, (int, float, str)):
            bits.append(f"{name} {value}")
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value) and len(value) <= 5:
            bits.append(f"{name} {', '.join(str(v) for v in value)}")
        else:
            bits.append(f"{name} ({len(value) if hasattr(value, '__len__') else 1} item(s))")
    return "; ".join(bits)


def spans(facts: Facts, gates: list[Signoff]) -> list[Span]:
    out = []
    for step in facts.steps.values():
        if step.started is not None:
            end = step.ended.ts if step.ended else None
            out.append(
                Span(lane=step.id, kind="step", start=step.started.ts, end=end, label=f"{step.id} ({step.uses})")
            )
    for gate in gates:
        out.append(
            Span(
                lane=gate.step,
                kind="wait",
                start=gate.requested_at,
                end=gate.decided_at,
                label=f"{gate.step}: sign-off {gate.outcome}",
            )
        )
    created = facts.first(n.FREEZE_CREATED)
    if created is not None:
        thawed = facts.first(n.THAW_APPLIED)
        end = thawed.ts if thawed else (facts.closed.ts if facts.closed else None)
        out.append(Span(lane="queue frozen", kind="freeze", start=created.ts, end=end, label="queue frozen"))
    return out


def entry(event: Event, start: datetime | None, broken: bool) -> TimelineEntry:
    """One event as a timeline row. Unvalidated: every value comes typed from the trail, and a
    million events must stay fast."""
    return unchecked(
        TimelineEntry,
        TIMELINE_FIELDS,
        {
            "seq": event.seq,
            "at": event.ts,
            "offset_seconds": (event.ts - start).total_seconds() if start else None,
            "actor": event.actor,
            "channel": event.channel,
            "action": event.action,
            "step": event.step,
            "human": event.human,
            "summary": clip(summary(event)),
            "broken": broken,
        },
    )


@dataclass
class Fold:
    """A run of machine events shown as one line (every event still counted)."""

    first: Event
    last: Event
    actions: dict[str, int]
    step: str | None

    @property
    def count(self) -> int:
        return sum(self.actions.values())

    @property
    def action(self) -> str:
        return next(iter(self.actions)) if len(self.actions) == 1 else "(several)"

    @property
    def summary(self) -> str:
        parts = ", ".join(f"{n} × {action}" for action, n in self.actions.items())
        return f"{self.count} machine events: {parts} (seq {self.first.seq}–{self.last.seq})"

    def add(self, event: Event) -> None:
        self.last = event
        self.actions[event.action] = self.actions.get(event.action, 0) + 1
        if event.step != self.step:
            self.step = None  # a fold across steps (past LINES): it belongs to none of them


RUN = 6  # a run of more machine events than this, of one step, folds into one line
LINES = 2_000  # past this many lines, machine runs fold whatever their step: the summary stays bounded


class Timeline:
    """The condensed timeline, folded as events stream by: people's actions and broken entries one
    by one, runs of more than RUN machine events of one step as one line. Holds only its lines and
    one pending run, so its size depends on how many times people acted, not on the trail's length.
    `sink`, when given, receives every event as a full `TimelineEntry` (the JSON's `--events`)."""

    def __init__(
        self,
        *,
        trusted: bool,
        broken: frozenset[int] = frozenset(),
        sink: Callable[[TimelineEntry], None] | None = None,
    ) -> None:
        self.trusted, self.broken, self.sink = trusted, broken, sink
        self.lines: list[Event | Fold] = []
        self._run: list[Event] = []
        self._fold: Fold | None = None
        self._start: datetime | None = None
        self._started = False
        self.events = 0

    def _flush(self) -> None:
        if self._fold is not None:
            self.lines.append(self._fold)
            self._fold = None
        self.lines.extend(self._run)
        self._run = []

    def add(self, event: Event) -> None:
        self.events += 1
        fold = self._fold
        if (
            fold is not None
            and self.sink is None
            and event.step == fold.first.step
            and not self.broken
            and self._started
            and not event.human
        ):
            fold.add(event)  # the hot path of a storm: one more machine event of the running fold
            return
        broken = event.seq in self.broken
        # Streamed rows count from incident.started, or from the first event until it appears.
        if self.trusted and (self._start is None or event.action == n.INCIDENT_STARTED and not self._started):
            self._start = event.ts
            self._started = event.action == n.INCIDENT_STARTED
        if self.sink is not None:
            self.sink(entry(event, self._start, broken))
        if event.human or broken:
            self._flush()
            self.lines.append(event)
            return
        current = self._fold.first if self._fold is not None else self._run[0] if self._run else None
        if current is not None and (event.step == current.step or len(self.lines) >= LINES):
            if self._fold is not None:
                self._fold.add(event)
            else:
                self._run.append(event)
                if len(self._run) > RUN:
                    fold = Fold(self._run[0], self._run[0], {}, self._run[0].step)
                    fold.actions[self._run[0].action] = 1
                    for later in self._run[1:]:
                        fold.add(later)
                    self._fold, self._run = fold, []
            return
        self._flush()
        self._run.append(event)

    @property
    def held(self) -> int:
        """Events and folds held right now: what the timeline costs in memory, whatever the trail."""
        return len(self.lines) + len(self._run) + (self._fold is not None)

    def summary(self, start: datetime | None) -> list[TimelineLine]:
        """The lines as the report shows them (`start`: the incident's, for offsets; None untrusted)."""
        self._flush()
        out = []
        for item in self.lines:
            if isinstance(item, Fold):
                e = item.first
                # A fold's line from its first and last events; the single-event line below fills the same fields
                # from one TimelineEntry.
                out.append(
                    TimelineLine(
                        seq=e.seq,
                        last_seq=item.last.seq,
                        at=e.ts,
                        last_at=item.last.ts,
                        offset_seconds=(e.ts - start).total_seconds() if start else None,
                        actor=e.actor,
                        channel=e.channel,
                        action=item.action,
                        step=item.step,
                        human=False,
                        summary=item.summary,
                        count=item.count,
                    )
                )
            else:
                row = entry(item, start, item.seq in self.broken)
                # TimelineEntry's fields plus last = first and count 1: TimelineLine requires those, so
                # model_validate(row, from_attributes=True) cannot build it.
                out.append(
                    TimelineLine(
                        seq=row.seq,
                        last_seq=row.seq,
                        at=row.at,
                        last_at=row.at,
                        offset_seconds=row.offset_seconds,
                        actor=row.actor,
                        channel=row.channel,
                        action=row.action,
                        step=row.step,
                        human=row.human,
                        summary=row.summary,
                        count=1,
                        broken=row.broken,
                    )
                )
        return out
