"""The fold of a trail's one streamed pass: the few events the sections read by action, each step's
outcome, the incident's start and close, the people to answer, and which steps play which doctrine
part. Every later section reads this, not the rows.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from runbook.postmortem import names as n
from runbook.postmortem.replies import People, micros
from runbook.postmortem.trail import Event


@dataclass
class StepFacts:
    id: str
    uses: str | None = None
    title: str | None = None
    started: Event | None = None
    finished: Event | None = None
    skipped: Event | None = None
    failed: Event | None = None

    @property
    def outcome(self) -> str:
        """finished, skipped, failed, running (started, not ended) or not_reached."""
        if self.finished is not None:
            return "finished"
        if self.skipped is not None:
            return "skipped"
        if self.failed is not None:
            return "failed"
        return "running" if self.started is not None else "not_reached"

    @property
    def outcome_words(self) -> str:
        return {
            "finished": "finished",
            "skipped": "was skipped",
            "failed": "failed",
            "running": "did not end",
            "not_reached": "was never reached",
        }[self.outcome]

    @property
    def ended(self) -> Event | None:
        return self.finished or self.skipped or self.failed


# The actions whose events the sections read one by one: rare by nature (a step, a gate, a post of
# the queue). Everything else (replies, chat echoes, actions the report does not know) is folded
# as it streams by and never kept, so a trail of any length holds only these.
KEPT = frozenset(
    {
        n.INCIDENT_STARTED,
        *n.CLOSING,
        n.FLOW_START_FAILED,
        n.STEP_STARTED,
        *n.STEP_FINISHED,
        n.STEP_SKIPPED,
        n.STEP_FAILED,
        n.STEP_ATTEMPT_FAILED,
        n.SIGNOFF_REQUESTED,
        n.SIGNOFF_APPROVED,
        n.SIGNOFF_GRANTED,
        n.SIGNOFF_REJECTED,
        n.SIGNOFF_REFUSED,
        n.SIGNOFF_ESCALATED,
        n.SIGNOFF_TIMED_OUT,
        n.FREEZE_CREATED,
        n.POST_FROZEN,
        n.POST_RELEASED,
        n.POST_RESCHEDULED,
        n.POST_KILLED,
        n.POST_PUBLISHED,
        n.THAW_PROPOSED,
        n.THAW_APPLIED,
        n.ALERT_LINKED,
        n.STATEMENT_DRAFTED,
        n.STATEMENT_EDITED,
        n.STATEMENT_CHECKED,
        n.STATEMENT_APPROVED,
        n.STATEMENT_REFUSED,
        n.STATEMENT_PUBLISHED,
        n.FOLLOWUP_SCHEDULED,
        n.FOLLOWUP_REMINDED,
    }
)
FIRST_SENT = 50  # reply.sent events kept as evidence that people were answered one by one


@dataclass
class Facts:
    """The fold of a trail: fed one event at a time (`add`), holding the kept actions' events, each
    step's outcome, the people to answer and the times replies went out, never the whole trail."""

    count: int = 0
    first_event: Event | None = None
    last_event: Event | None = None
    by_action: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    steps: dict[str, StepFacts] = field(default_factory=dict)
    started: Event | None = None
    closed: Event | None = None
    people: People = field(default_factory=People)
    sent_first: list[Event] = field(default_factory=list)  # the first FIRST_SENT reply.sent events
    sent_times: array[int] = field(default_factory=lambda: array("q"))  # every reply.sent, epoch microseconds
    # Filled from the rows the trail points at (runbook.postmortem.references), not from events.
    alert_opened: dict[str, datetime] = field(default_factory=dict)  # listening alert id -> opened_at
    first_mentions: dict[str, datetime] = field(default_factory=dict)  # trigger post ref -> first answer

    @property
    def start(self) -> datetime | None:
        if self.started is not None:
            return self.started.ts
        return self.first_event.ts if self.first_event else None

    @property
    def outcome(self) -> str | None:
        return None if self.closed is None else n.CLOSING[self.closed.action]

    @property
    def running(self) -> bool:
        return self.closed is None

    def all(self, *actions: str) -> list[Event]:
        if len(actions) == 1:
            return self.by_action.get(actions[0], [])
        return sorted((e for a in actions for e in self.by_action.get(a, [])), key=lambda e: e.seq)

    def first(self, *actions: str) -> Event | None:
        found = self.all(*actions)
        return found[0] if found else None

    def role(self, name: str) -> list[StepFacts]:
        kinds, ids = n.ROLES[name]
        return [s for s in self.steps.values() if (s.uses in kinds) or (s.id in ids and not _claimed(s))]

    def offset(self, ts: datetime) -> float | None:
        start = self.start
        return None if start is None else (ts - start).total_seconds()

    def _step(self, step_id: str) -> StepFacts:
        found = self.steps.get(step_id)
        if found is None:
            found = self.steps[step_id] = StepFacts(step_id)
        return found

    def add(self, event: Event) -> None:
        self.count += 1
        if self.first_event is None:
            self.first_event = event
        self.last_event = event
        action = event.action
        if action not in KEPT:
            if action == n.REPLY_SENT:
                if len(self.sent_first) < FIRST_SENT:
                    self.sent_first.append(event)
                self.sent_times.append(micros(event.ts))
            if action.startswith("repl"):
                self.people.add(event)
            return
        self.by_action[action].append(event)
        if action == n.INCIDENT_STARTED and self.started is None:
            self.started = event
            # The plan's order, so steps never reached still show up (and count as missed).
            for step_id in event.details.get("steps") or ():
                if isinstance(step_id, str):
                    self._step(step_id)
        elif action in n.CLOSING and self.closed is None:
            self.closed = event
        elif event.step is None:
            return
        elif action == n.STEP_STARTED:
            s = self._step(event.step)
            s.uses = s.uses or event.details.get("uses")
            s.title = s.title or event.details.get("title")
            s.started = s.started or event
        elif action in n.STEP_FINISHED:
            s = self._step(event.step)
            s.finished = s.finished or event
        elif action == n.STEP_SKIPPED:
            s = self._step(event.step)
            s.skipped = s.skipped or event
        elif action == n.STEP_FAILED:
            s = self._step(event.step)
            s.failed = s.failed or event


def finished(steps: list[StepFacts]) -> list[tuple[StepFacts, Event]]:
    """The steps that finished, in order, each with its step.finished event."""
    return [(s, s.finished) for s in steps if s.finished is not None]


def _claimed(step: StepFacts) -> bool:
    """A step whose kind already has a part (e.g. id `freeze` using thaw_posts) is judged by its kind."""
    return any(step.uses in kinds for kinds, _ in n.ROLES.values())
