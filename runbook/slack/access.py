"""Who is clicking: a Slack user resolved to a roster person, and every refusal audited.

A refusal on an incident goes to that incident's trail; one with no incident yet (an unknown user
typing `/crisis start`) goes to the standing Slack access ledger, an incident of its own that the
app creates on first use (like the post queue's ledger).
"""

from __future__ import annotations

from typing import Any

from runbook.audit import ledger
from runbook.slack import refs

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
    def __init__(self, *, db: Any, roster: Any):
        self.db = db
        self.roster = roster  # callable returning the current Roster (reloaded when the file changes)

    def person(self, slack_user: str | None):
        if not slack_user:
            return None
        return self.roster().by_slack_id(slack_user)

    def refuse(self, *, slack_user: str, what: str, reason: str, incident_id: str | None = None,
               step: str | None = None, extra: dict[str, Any] | None = None) -> None:
        """Audit a refused Slack request: who (Slack id), what they tried, why."""
        target = incident_id or ledger_incident(self.db)
        details = {"slack_user": slack_user, "attempted": what, "reason": reason, **(extra or {})}
        person = self.person(slack_user)
        refs.record(self.db, target, refs.REFUSED, details, step=step,
                    actor=person.id if person is not None else actor_for(slack_user))
