"""Reminders for policy follow-ups. The record is the audit event itself (`followup.scheduled`,
append-only, in the incident's chain); `runbook incidents reminders`, run from cron or a scheduled
deployment, fires the due ones to the incident channel and records `followup.reminded`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit import AuditEvent, Incident, append
from runbook.audit.models import as_utc
from runbook.postmortem import names as n
from runbook.postmortem.model import FollowUp
from runbook.postmortem.replies import parse_time

_incidents = sa.inspect(Incident).local_table
_e = sa.inspect(AuditEvent).local_table.c
_i = _incidents.c


def remind_at(follow_up: FollowUp, *, hour: int, now: datetime) -> datetime | None:
    """The due date at `hour` UTC; never in the past (a due date of today fires at the next run)."""
    if follow_up.due is None:
        return None
    when = datetime.combine(follow_up.due, time(hour=hour)).replace(tzinfo=now.tzinfo)
    return max(when, now)


def schedule(
    engine: Engine,
    *,
    incident_id: str,
    follow_ups: list[FollowUp],
    step: str | None,
    existing: set[tuple[int, int]],
    hour: int = 9,
    now: datetime | None = None,
) -> list[AuditEvent]:
    """Append one followup.scheduled per follow-up that has a due date and no reminder yet.

    `existing` holds (source_seq, item) pairs already scheduled, so a retried step adds nothing.
    """
    now = as_utc(now)
    made = []
    for number, item in enumerate(follow_ups):
        when = remind_at(item, hour=hour, now=now)
        if when is None or (item.source_seq, number) in existing:
            continue
        made.append(
            append(
                engine,
                incident_id=incident_id,
                actor="system",
                channel="flow",
                action=n.FOLLOWUP_SCHEDULED,
                step=step,
                now=now,
                details={
                    "source_seq": item.source_seq,
                    "item": number,
                    "what": item.what,
                    "owner": item.owner,
                    "due": item.due.isoformat() if item.due else None,
                    "remind_at": when.isoformat(),
                },
            )
        )
    return made


@dataclass(frozen=True)
class Due:
    incident_id: str
    slug: str
    channel: str | None
    scheduled_seq: int
    remind_at: datetime
    details: dict[str, Any]

    def text(self) -> str:
        d = self.details
        owner = d.get("owner") or "nobody named"
        return (
            f"Policy follow-up from {self.slug} is due {d.get('due') or 'now'}: {d.get('what')} "
            f"(owner: {owner}). Close it or give it a new date in the next review."
        )


def due_reminders(engine: Engine, *, now: datetime | None = None) -> list[Due]:
    """Scheduled reminders whose time has come and that have not fired yet, oldest first."""
    now = as_utc(now)
    query = (
        sa.select(_e.incident_id, _e.seq, _e.action, _e.details, _i.slug, _i.channel)
        .join(_incidents, _i.id == _e.incident_id)
        .where(_e.action.in_((n.FOLLOWUP_SCHEDULED, n.FOLLOWUP_REMINDED)))
    )
    scheduled: dict[tuple[str, int], Due] = {}
    fired: set[tuple[str, int]] = set()
    with engine.connect() as connection:
        for incident_id, seq, action, details, slug, channel in connection.execute(query):
            if action == n.FOLLOWUP_REMINDED:
                fired.add((incident_id, details.get("scheduled_seq")))
                continue
            when = parse_time(details.get("remind_at"))
            if when is not None and when <= now:
                scheduled[(incident_id, seq)] = Due(incident_id, slug, channel, seq, when, details)
    return sorted((due for key, due in scheduled.items() if key not in fired), key=lambda d: (d.remind_at, d.slug))


def fire_due(engine: Engine, *, chat_for: Callable[[str], Any], now: datetime | None = None) -> list[Due]:
    """Post each due reminder to its incident channel once, then record followup.reminded."""
    now = as_utc(now)
    done = []
    for due in due_reminders(engine, now=now):
        chat_for(due.incident_id).post(due.channel, due.text(), key=f"{due.incident_id}:followup:{due.scheduled_seq}")
        append(
            engine,
            incident_id=due.incident_id,
            actor="system",
            channel="flow",
            action=n.FOLLOWUP_REMINDED,
            now=now,
            details={
                "scheduled_seq": due.scheduled_seq,
                "what": due.details.get("what"),
                "owner": due.details.get("owner"),
                "due": due.details.get("due"),
            },
        )
        done.append(due)
    return done
