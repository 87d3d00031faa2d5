"""Individual replies, person by person (doctrine step 5): who was on the list, who was answered,
skipped or failed, and how long each person waited. Reads the reply events issue 6 will record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runbook.audit.models import as_utc
from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import PERSON_FIELDS, PersonReply, unchecked

# A later, stronger state wins: a failed send that a retry delivered is "sent".
_RANK = {"pending": 0, "drafted": 1, "failed": 2, "skipped": 3, "sent": 4}
_STATE = {n.REPLY_DRAFTED: "drafted", n.REPLY_SENT: "sent", n.REPLY_SKIPPED: "skipped", n.REPLY_FAILED: "failed"}


def parse_time(value: Any) -> datetime | None:
    """An ISO time from event details as aware UTC (naive means UTC); None when absent or unreadable."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads "Z" too
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _person(details: dict[str, Any]) -> str | None:
    who = details.get("person") or details.get("author")
    return str(who) if who else None


def _mentioned(details: dict[str, Any]) -> datetime | None:
    return parse_time(details.get("mentioned_at") or details.get("mention_at"))


@dataclass
class _Track:
    state: str = "pending"
    mentioned_at: datetime | None = None
    answered_at: datetime | None = None
    evidence: list[int] = field(default_factory=list)


def _note(track: _Track, seq: int) -> None:
    # Events arrive in seq order, so the evidence stays sorted; one event may name a person twice.
    if not track.evidence or track.evidence[-1] != seq:
        track.evidence.append(seq)


def replies(facts: Facts) -> tuple[list[PersonReply], bool]:
    """(people, recorded): `recorded` is False when the trail holds no reply events at all."""
    people: dict[str, _Track] = {}
    planned = facts.all(n.REPLIES_PLANNED)
    for event in planned:
        for entry in event.details.get("people") or ():
            who = _person(entry) if isinstance(entry, dict) else (str(entry) if entry else None)
            if who is None:
                continue
            track = people.setdefault(who, _Track())
            _note(track, event.seq)
            if isinstance(entry, dict):
                track.mentioned_at = track.mentioned_at or _mentioned(entry)
    reply_events = facts.all(*_STATE)
    for event in reply_events:
        who = _person(event.details)
        if who is None:
            continue
        track = people.setdefault(who, _Track())
        _note(track, event.seq)
        track.mentioned_at = track.mentioned_at or _mentioned(event.details)
        state = _STATE[event.action]
        if _RANK[state] >= _RANK[track.state]:
            track.state = state
        if state == "sent" and track.answered_at is None:
            track.answered_at = event.ts
    out = []
    for who, track in people.items():
        wait = None
        if track.answered_at is not None and track.mentioned_at is not None:
            wait = (track.answered_at - track.mentioned_at).total_seconds()
        # Unvalidated (one per person, possibly tens of thousands): the values are typed above.
        out.append(unchecked(PersonReply, PERSON_FIELDS, {
            "person": who, "state": track.state, "mentioned_at": track.mentioned_at,
            "answered_at": track.answered_at, "seconds_to_answer": wait, "evidence": track.evidence}))
    return out, bool(planned or reply_events)
