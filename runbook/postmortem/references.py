"""What the verified trail points at in other tables, for time to detect: the listening alert named
by `listen.alert_linked` (listen_alert.opened_at) and the first `mention` answering the trigger post.
Those rows are not hash-chained (the metric's source says which table); without them: not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from runbook.audit.models import as_utc
from runbook.postmortem import names as n
from runbook.postmortem.index import Facts, finished


@dataclass(frozen=True)
class TriggerRef:
    ref: str
    platform: str | None
    seq: int  # the event that named it


def alert_ids(facts: Facts) -> dict[str, int]:
    """alert id -> seq of the listen.alert_linked event naming it."""
    return {str(e.details["alert"]): e.seq for e in facts.all(n.ALERT_LINKED) if e.details.get("alert")}


def trigger_refs(facts: Facts) -> list[TriggerRef]:
    found = []
    for event in facts.all(n.ALERT_LINKED):
        trigger = event.details.get("trigger") or {}
        if isinstance(trigger, dict) and trigger.get("ref"):
            found.append(TriggerRef(str(trigger["ref"]), trigger.get("platform"), event.seq))
    for _, end in finished(facts.role("assess")):
        post = (end.details.get("outputs") or {}).get("offending_post")
        if isinstance(post, dict) and post.get("ref"):
            found.append(TriggerRef(str(post["ref"]), post.get("platform"), end.seq))
    return found


def resolve(engine: Engine, facts: Facts) -> None:
    """Fill facts.alert_opened and facts.first_mentions from the tables the trail points at."""
    ids, refs = alert_ids(facts), trigger_refs(facts)
    if not ids and not refs:
        return
    try:
        from runbook.listen.tables import alerts, mentions
    except ImportError:  # the listening package is not installed: nothing to look up
        return
    opened: dict[str, datetime] = {}
    first_mentions: dict[str, datetime] = {}
    try:
        with engine.connect() as connection:
            if ids:
                query = sa.select(alerts.c.id, alerts.c.opened_at).where(alerts.c.id.in_(list(ids)))
                opened = {row.id: as_utc(row.opened_at) for row in connection.execute(query)}
            for trigger in refs:
                earliest = sa.select(sa.func.min(mentions.c.created_at)).where(mentions.c.in_reply_to == trigger.ref)
                if trigger.platform:
                    earliest = earliest.where(mentions.c.platform == trigger.platform)
                first = connection.execute(earliest).scalar()
                if first is not None:
                    first_mentions[trigger.ref] = as_utc(first)
    except DBAPIError:  # the listening tables are not migrated in this database
        return
    facts.alert_opened, facts.first_mentions = opened, first_mentions
