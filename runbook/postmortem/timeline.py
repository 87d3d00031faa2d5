"""The timeline: every audited event as one readable line (actor, channel, what it did), the bars of
the timeline chart, and a condensed view that folds long runs of machine events for md and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        f", deadline {d['deadline']}" if d.get("deadline") else "")


def _alert(d: dict[str, Any], action: str) -> str:
    trigger = d.get("trigger") if isinstance(d.get("trigger"), dict) else {}
    return (f"spike alert {str(d.get('alert', ''))[:8]} linked" + (" (it started the playbook)" if d.get("auto") else "")
            + (f": {d['headline']}" if d.get("headline") else "")
            + (f"; likely trigger {trigger.get('ref')}" if trigger.get("ref") else ""))


def _step_problem(d: dict[str, Any], action: str) -> str:
    return f"{action.split('.')[1].replace('_', ' ')}: {d.get('reason') or d.get('error') or ''}"


# One line per known action, from the details that matter (a dict: one look-up per audit event).
_SUMMARIES: dict[str, Any] = {
    n.INCIDENT_STARTED: lambda d, a: f"started playbook {d.get('playbook', '?')} v{d.get('version', '?')}: "
                                     f"{d.get('title', '')}",
    **{action: lambda d, a: f"incident {n.CLOSING[a]}" + (f": {d['reason']}" if d.get("reason") else "")
       for action in n.CLOSING},
    "flow.started": lambda d, a: "flow run started",
    n.SIGNOFF_REQUESTED: _requested,
    n.SIGNOFF_APPROVED: _approved,
    n.SIGNOFF_GRANTED: lambda d, a: f"sign-off granted: {_names(d.get('approvers')) or 'nobody'}"
                                    + (" (escalated)" if d.get("escalated") else ""),
    n.SIGNOFF_REFUSED: lambda d, a: f"decision not counted: {d.get('reason', '')}",
    n.SIGNOFF_REJECTED: lambda d, a: "rejected" + (f": {d['comment']}" if d.get("comment") else ""),
    n.SIGNOFF_ESCALATED: lambda d, a: f"escalated to {_names(d.get('to') or d.get('signers'))}",
    n.SIGNOFF_TIMED_OUT: lambda d, a: "sign-off deadline passed",
    n.STEP_STARTED: lambda d, a: f"step started ({d.get('uses', '?')})" + (" at incident start" if d.get("immediate")
                                                                            else ""),
    **{action: lambda d, a: "step finished" for action in n.STEP_FINISHED},
    n.STEP_SKIPPED: _step_problem,
    n.STEP_FAILED: _step_problem,
    n.STEP_ATTEMPT_FAILED: _step_problem,
    n.FREEZE_CREATED: lambda d, a: f"queue frozen: {d.get('frozen', '?')} post(s), scope {_names(d.get('scope'))}",
    n.THAW_PROPOSED: lambda d, a: f"thaw proposed for {len(d.get('proposal') or {})} post(s)",
    n.THAW_APPLIED: lambda d, a: "thaw applied: " + (", ".join(f"{v} {k}" for k, v in (d.get("outcomes") or {}).items())
                                                     or "nothing to do"),
    "chat.posted": lambda d, a: f"chat: {str(d.get('text') or '').splitlines()[0] if d.get('text') else ''}",
    n.ALERT_LINKED: _alert,
    n.STATEMENT_DRAFTED: lambda d, a: "draft" + (f" v{d['version']}" if d.get("version") else "") + f": {d.get('text', '')}",
    n.STATEMENT_EDITED: lambda d, a: f"edited: {d.get('text', '')}",
    n.STATEMENT_CHECKED: lambda d, a: f"statement checked: {_count(d.get('blocking'))} blocking, "
                                      f"{_count(d.get('warnings'))} warning(s)",
    # The publish step records one event per platform (`platform`); older trails listed `platforms`.
    n.STATEMENT_PUBLISHED: lambda d, a: "statement published on "
                                        f"{_names(d.get('platform') or d.get('platforms')) or '?'}",
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


def entries(facts: Facts, *, broken: set[int], trusted: bool) -> list[TimelineEntry]:
    # Unvalidated: every value comes typed from the trail, and 100,000 events must stay fast.
    start = facts.start if trusted else None
    return [unchecked(TimelineEntry, TIMELINE_FIELDS, {
        "seq": e.seq, "at": e.ts, "offset_seconds": (e.ts - start).total_seconds() if start else None,
        "actor": e.actor, "channel": e.channel, "action": e.action, "step": e.step, "human": e.human,
        "summary": clip(summary(e)), "broken": e.seq in broken}) for e in facts.events]


def spans(facts: Facts, gates: list[Signoff]) -> list[Span]:
    out = []
    for step in facts.steps.values():
        if step.started is not None:
            end = step.ended.ts if step.ended else None
            out.append(Span(lane=step.id, kind="step", start=step.started.ts, end=end, label=f"{step.id} ({step.uses})"))
    for gate in gates:
        out.append(Span(lane=gate.step, kind="wait", start=gate.requested_at, end=gate.decided_at,
                        label=f"{gate.step}: sign-off {gate.outcome}"))
    created = facts.first(n.FREEZE_CREATED)
    if created is not None:
        thawed = facts.first(n.THAW_APPLIED)
        end = thawed.ts if thawed else (facts.closed.ts if facts.closed else None)
        out.append(Span(lane="queue frozen", kind="freeze", start=created.ts, end=end, label="queue frozen"))
    return out


@dataclass(frozen=True)
class Fold:
    """A run of machine events of one step, shown as one line (every event still counted)."""

    first: TimelineEntry
    last: TimelineEntry
    actions: dict[str, int]

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


def _foldable(entry: TimelineEntry) -> bool:
    return not entry.human and not entry.broken


def condensed(timeline: list[TimelineEntry], *, run: int = 6) -> list[TimelineEntry | Fold]:
    """Folds runs of more than `run` consecutive machine events of the same step (a reply storm,
    thousands of chat messages) into one line. People's actions and broken entries never fold."""
    out: list[TimelineEntry | Fold] = []
    i = 0
    while i < len(timeline):
        entry = timeline[i]
        j = i + 1
        if _foldable(entry):
            while j < len(timeline) and timeline[j].step == entry.step and _foldable(timeline[j]):
                j += 1
        if j - i > run:
            actions: dict[str, int] = {}
            for e in timeline[i:j]:
                actions[e.action] = actions.get(e.action, 0) + 1
            out.append(Fold(entry, timeline[j - 1], actions))
        else:
            out.extend(timeline[i:j])
        i = j
    return out


def summary_lines(timeline: list[TimelineEntry]) -> list[TimelineLine]:
    """`condensed` as typed lines: what the report shows and the JSON carries without `--events`."""
    out = []
    for item in condensed(timeline):
        if isinstance(item, Fold):
            e = item.first
            out.append(TimelineLine(seq=e.seq, last_seq=item.last.seq, at=e.at, last_at=item.last.at,
                                    offset_seconds=e.offset_seconds, actor=e.actor, channel=e.channel,
                                    action=item.action, step=e.step, human=False, summary=item.summary,
                                    count=item.count))
        else:
            out.append(TimelineLine(seq=item.seq, last_seq=item.seq, at=item.at, last_at=item.at,
                                    offset_seconds=item.offset_seconds, actor=item.actor, channel=item.channel,
                                    action=item.action, step=item.step, human=item.human, summary=item.summary,
                                    count=1, broken=item.broken))
    return out
