"""Policy follow-ups (doctrine: every crisis re-evaluates the policy), read from the final sign-off's
`follow_ups` field, one per line: "what | owner | due" or "what (owner: X, due: Y)". Nothing is
guessed: an owner or due date that is not written stays empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import FollowUp, Reminder
from runbook.postmortem.replies import parse_time
from runbook.postmortem.trail import Event

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_PAREN = re.compile(r"^(?P<what>.*?)\s*\((?P<meta>[^()]*)\)\s*\.?$")
_KEYED = re.compile(r"^\s*(?P<key>owner|who|due|by|when|deadline)\s*[:=]?\s+(?P<value>.+?)\s*$", re.I)
_RELATIVE = re.compile(r"^(?:in\s+)?(?P<n>\d+|a|an|one|two|three|four)\s*(?P<unit>days?|d|weeks?|w|months?)$", re.I)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
# A month is counted as 30 days: follow-up due dates need a day, not calendar precision.
_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "month": 30, "months": 30}
_NOW = {"now": 0, "today": 0, "immediately": 0, "asap": 0, "tomorrow": 1, "next week": 7}


@dataclass(frozen=True)
class Item:
    what: str
    owner: str | None
    due: date | None
    due_text: str


def parse_due(text: str, base: datetime) -> date | None:
    """An absolute date (2014-09-15) or one relative to `base` ("2 weeks", "now"); None otherwise."""
    value = text.strip().lower().rstrip(".")
    if not value:
        return None
    if value in _NOW:
        return (base + timedelta(days=_NOW[value])).date()
    relative = _RELATIVE.match(value)
    if relative:
        count = _WORDS.get(relative["n"], None) or int(relative["n"])
        return (base + timedelta(days=count * _UNIT_DAYS[relative["unit"].lower()])).date()
    try:
        return date.fromisoformat(value.replace("/", "-")[:10])
    except ValueError:
        return None


def _meta(parts: list[str], base: datetime) -> tuple[str | None, date | None, str]:
    owner, due, due_text = None, None, ""
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        keyed = _KEYED.match(part) or re.match(r"^(?P<key>owner|due)\s*:\s*(?P<value>.+)$", part, re.I)
        key = keyed["key"].lower() if keyed else None
        value = keyed["value"].strip() if keyed else part
        if key in ("owner", "who"):
            owner = value
        elif key is not None or parse_due(value, base) is not None:
            due, due_text = parse_due(value, base), value
        elif owner is None:
            owner = value
    return owner, due, due_text


def parse_follow_ups(text: str, base: datetime) -> list[Item]:
    items = []
    for line in str(text).splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        if "|" in line:
            what, *rest = [p.strip() for p in line.split("|")]
            owner, due, due_text = _meta(rest, base)
            # "what | owner | due" is positional: an unlabelled second column is the owner.
            if len(rest) >= 1 and owner is None and rest[0] and parse_due(rest[0], base) is None:
                owner = rest[0]
        elif (paren := _PAREN.match(line)) is not None:
            what = paren["what"].strip()
            owner, due, due_text = _meta(re.split(r"[,;]", paren["meta"]), base)
        else:
            what, *rest = [p.strip() for p in line.split(";")]
            owner, due, due_text = _meta(rest, base)
        items.append(Item(what=what or line, owner=owner or None, due=due, due_text=due_text))
    return items


def final_follow_ups(facts: Facts) -> tuple[Event | None, str]:
    """The last granted sign-off that carried follow-ups, and their text."""
    for event in reversed(facts.all(n.SIGNOFF_GRANTED)):
        text = (event.details.get("fields") or {}).get(n.FOLLOW_UPS_FIELD)
        if isinstance(text, str) and text.strip():
            return event, text
    return None, ""


def follow_ups(facts: Facts) -> list[FollowUp]:
    source, text = final_follow_ups(facts)
    if source is None:
        return []
    scheduled = {(e.details.get("source_seq"), e.details.get("item")): e for e in facts.all(n.FOLLOWUP_SCHEDULED)}
    fired = {e.details.get("scheduled_seq"): e for e in facts.all(n.FOLLOWUP_REMINDED)}
    out = []
    for number, item in enumerate(parse_follow_ups(text, source.ts)):
        reminder = None
        record = scheduled.get((source.seq, number))
        if record is not None:
            done = fired.get(record.seq)
            reminder = Reminder(
                remind_at=parse_time(record.details.get("remind_at")) or record.ts,
                seq=record.seq,
                fired_at=done.ts if done else None,
                fired_seq=done.seq if done else None,
            )
        # Item's four fields by name, plus the sign-off it came from and its reminder: FollowUp requires
        # source_seq, which the parsed Item does not carry.
        out.append(
            FollowUp(
                what=item.what,
                owner=item.owner,
                due=item.due,
                due_text=item.due_text,
                source_seq=source.seq,
                reminder=reminder,
            )
        )
    return out
