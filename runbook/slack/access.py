"""Who is clicking: a Slack user resolved to a roster person, and every refusal audited; replays
of signed requests and slash commands refused; floods of refusals aggregated.

A refusal on an incident goes to that incident's trail; one with no incident yet (an unknown user
typing `/crisis start`) goes to the standing Slack access ledger, an incident of its own that the
app creates on first use (like the post queue's ledger), checkpointed at every row so that a
truncated ledger is caught by `runbook audit verify`. An unknown user gets REFUSAL_BURST rows per
REFUSAL_WINDOW; the rest of the window becomes one row with a count.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from runbook.audit import append, ledger
from runbook.slack import refs
from runbook.slack.verify import MAX_SKEW_SECONDS

REFUSAL_WINDOW = 60.0  # seconds
REFUSAL_BURST = 5  # rows per unknown user per window before aggregation
REFUSALS_AGGREGATED = "slack.refused.aggregated"


class ReplayGuard:
    """Keys seen within `ttl` seconds (a request signature, a slash command's trigger_id): `first`
    is True only the first time. Slack refuses a signature older than 5 minutes, so remembering
    them that long (plus skew) refuses every replay; bounded in size against floods."""

    def __init__(
        self, *, ttl: float = 2 * MAX_SKEW_SECONDS, limit: int = 100_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl, self.limit, self.clock = ttl, limit, clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: Hashable) -> bool:
        now = self.clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now or len(self._seen) >= self.limit):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now + self.ttl
            return True


LEDGER_PLAYBOOK = "slack-access"
LEDGER_TITLE = "Slack access ledger"


def actor_for(slack_user: str) -> str:
    return f"slack:{slack_user}"[:200]


def ledger_incident(db: Any) -> str:
    """The id of the access ledger, created on first use (race-free: `audit.ledger`)."""
    return ledger(db, LEDGER_PLAYBOOK, title=LEDGER_TITLE, actor=refs.ACTOR)


def is_ledger(incident: Any) -> bool:
    return getattr(incident, "kind", None) == "ledger" or getattr(incident, "playbook_id", None) == LEDGER_PLAYBOOK


class Access:
    # Keyword-only settings with defaults: alike in layout to other constructors, not in what they hold.
    def __init__(
        self,
        *,
        db: Any,
        roster: Any,
        window: float = REFUSAL_WINDOW,
        burst: int = REFUSAL_BURST,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.db = db
        self.roster = roster  # callable returning the current Roster (reloaded when the file changes)
        self.window, self.burst, self.clock = window, burst, clock
        # slack user -> [window start, rows written, refusals held back, first attempts held back]
        self._floods: dict[str, list[Any]] = {}
        self._flood_lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def person(self, slack_user: str | None):
        if not slack_user:
            return None
        return self.roster().by_slack_id(slack_user)

    def refuse(
        self,
        *,
        slack_user: str,
        what: str,
        reason: str,
        incident_id: str | None = None,
        step: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Audit a refused Slack request: who (Slack id), what they tried, why."""
        details = {"slack_user": slack_user, "attempted": what, "reason": reason, **(extra or {})}
        person = self.person(slack_user)
        if person is None and not self._admit(slack_user, what):
            return  # counted; one aggregated row at the end of the window
        target = incident_id or ledger_incident(self.db)
        append(
            self.db,
            incident_id=target,
            actor=person.id if person is not None else actor_for(slack_user),
            channel="slack",
            action=refs.REFUSED,
            step=step,
            details=details,
            checkpoint="access ledger" if incident_id is None else None,
        )

    # -- flood control ----------------------------------------------------------------------------
    def _admit(self, slack_user: str, what: str) -> bool:
        now = self.clock()
        with self._flood_lock:
            state = self._floods.get(slack_user)
            if state is not None and now - state[0] >= self.window:
                self._flush_locked(slack_user)
                state = None
            if state is None:
                state = self._floods[slack_user] = [now, 0, 0, []]
            if state[1] < self.burst:
                state[1] += 1
                return True
            state[2] += 1
            if len(state[3]) < 5 and what not in state[3]:
                state[3].append(what)
            if self._timer is None:
                self._timer = threading.Timer(self.window, self.flush)
                self._timer.daemon = True
                self._timer.start()
            return False

    def flush(self) -> None:
        """Write the aggregated rows of every window with refusals held back (and forget them)."""
        with self._flood_lock:
            self._timer = None
            for slack_user in list(self._floods):
                self._flush_locked(slack_user)

    def _flush_locked(self, slack_user: str) -> None:
        started, _, held, attempted = self._floods.pop(slack_user)
        if not held:
            return
        ledger = ledger_incident(self.db)
        append(
            self.db,
            incident_id=ledger,
            actor=actor_for(slack_user),
            channel="slack",
            action=REFUSALS_AGGREGATED,
            details={
                "slack_user": slack_user,
                "count": held,
                "window_seconds": self.window,
                "attempted": attempted,
                "reason": f"not in the roster; more than {self.burst} refusals in {int(self.window)} s, aggregated",
            },
            checkpoint="access ledger",
        )
