"""One pass over a verified trail: events by action, each step's outcome, the incident's start and
close, and which steps play which doctrine part. Every later section reads this, not the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from runbook.postmortem import names as n
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
        return {"finished": "finished", "skipped": "was skipped", "failed": "failed", "running": "did not end",
                "not_reached": "was never reached"}[self.outcome]

    @property
    def ended(self) -> Event | None:
        return self.finished or self.skipped or self.failed


@dataclass
class Facts:
    events: list[Event]
    by_action: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    steps: dict[str, StepFacts] = field(default_factory=dict)
    started: Event | None = None
    closed: Event | None = None
    # Filled from the rows the trail points at (runbook.postmortem.references), not from events.
    alert_opened: dict[str, datetime] = field(default_factory=dict)  # listening alert id -> opened_at
    first_mentions: dict[str, datetime] = field(default_factory=dict)  # trigger post ref -> first answer

    @property
    def start(self) -> datetime | None:
        if self.started is not None:
            return self.started.ts
        return self.events[0].ts if self.events else None

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


def _claimed(step: StepFacts) -> bool:
    """A step whose kind already has a part (e.g. id `freeze` using thaw_posts) is judged by its kind."""
    return any(step.uses in kinds for kinds, _ in n.ROLES.values())


def index(events: list[Event]) -> Facts:
    facts = Facts(events=events)
    by_action = facts.by_action
    steps = facts.steps

    def step(step_id: str) -> StepFacts:
        found = steps.get(step_id)
        if found is None:
            found = steps[step_id] = StepFacts(step_id)
        return found

    for event in events:
        action = event.action
        by_action[action].append(event)
        if action == n.INCIDENT_STARTED and facts.started is None:
            facts.started = event
            # The plan's order, so steps never reached still show up (and count as missed).
            for step_id in event.details.get("steps") or ():
                if isinstance(step_id, str):
                    step(step_id)
        elif action in n.CLOSING and facts.closed is None:
            facts.closed = event
        elif event.step is None:
            continue
        elif action == n.STEP_STARTED:
            s = step(event.step)
            s.uses = s.uses or event.details.get("uses")
            s.title = s.title or event.details.get("title")
            s.started = s.started or event
        elif action in n.STEP_FINISHED:
            s = step(event.step)
            s.finished = s.finished or event
        elif action == n.STEP_SKIPPED:
            s = step(event.step)
            s.skipped = s.skipped or event
        elif action == n.STEP_FAILED:
            s = step(event.step)
            s.failed = s.failed or event
    return facts
