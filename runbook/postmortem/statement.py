"""The published statement in full (its approved text and where it went) and the series the charts
draw: brand mentions (and their negative share) and replies sent, per time slot of the incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import Bucket, Series, Statement
from runbook.postmortem.replies import micros

# Where a text of the statement can be read, newest wins: a draft, an edit, the approved fields,
# the step's outputs (an edited text supersedes what the step produced).
_TEXT_SOURCES = (n.STATEMENT_DRAFTED, n.STATEMENT_EDITED, n.SIGNOFF_APPROVED, n.SIGNOFF_GRANTED, *n.STEP_FINISHED)
SLOTS = 48  # bars per chart, whatever the incident's length


def _text_of(event) -> str | None:
    d = event.details
    for value in (d.get("text"), (d.get("fields") or {}).get("text"), (d.get("outputs") or {}).get("text")):
        if isinstance(value, str) and value.strip():
            return value
    return None


def published_statement(facts: Facts) -> Statement | None:
    published = facts.all(n.STATEMENT_PUBLISHED)
    if not published:
        return None
    first = published[0]
    step = first.details.get("statement_step")
    text, seq = None, None
    for event in facts.all(*_TEXT_SOURCES):
        if event.seq > first.seq:
            break
        if step and event.step != step and event.action not in (n.STATEMENT_DRAFTED, n.STATEMENT_EDITED):
            continue
        found = _text_of(event)
        if found is not None:
            text, seq = found, event.seq
    posts = []
    for event in published:
        d = event.details
        for platform in [d["platform"]] if d.get("platform") else list(d.get("platforms") or []):
            posts.append(
                {"platform": str(platform), "account": str(d.get("account") or ""), "url": str(d.get("url") or "")}
            )
    return Statement(text=text, text_seq=seq, published_at=first.ts, seq=first.seq, posts=posts)


def _slot(start: datetime, end: datetime) -> int:
    span = max((end - start).total_seconds(), 60.0)
    raw = span / SLOTS
    for nice in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if raw <= nice:
            return nice
    return 86400


def series(facts: Facts, engine: Engine | None) -> Series | None:
    start = facts.start
    if start is None or facts.last_event is None:
        return None
    end = facts.closed.ts if facts.closed else facts.last_event.ts
    width = _slot(start, end)
    slots = int((end - start).total_seconds() // width) + 1

    def at(i: int) -> datetime:
        return start + timedelta(seconds=i * width)

    sent = [0] * slots
    first, per = micros(start), width * 1_000_000
    for us in facts.sent_times:
        i = (us - first) // per
        if 0 <= i < slots:
            sent[i] += 1
    replies = [Bucket(at=at(i), count=c) for i, c in enumerate(sent)]
    return Series(bucket_seconds=width, mentions=_mentions(engine, start, width, slots, at), replies=replies)


def _mentions(engine: Engine | None, start: datetime, width: int, slots: int, at) -> list[Bucket] | None:
    if engine is None:
        return None
    try:
        from runbook.listen.tables import mentions
    except ImportError:
        return None
    first = int(start.timestamp())
    last = first + slots * width
    slot = sa.cast((mentions.c.epoch - first) / width, sa.Integer)
    query = (
        sa.select(slot.label("slot"), sa.func.count().label("n"), sa.func.sum(mentions.c.negative).label("neg"))
        .where(mentions.c.epoch >= first, mentions.c.epoch < last)
        .group_by(slot)
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except DBAPIError:  # the listening tables are not in this database
        return None
    counts = {int(r.slot): (int(r.n), int(r.neg or 0)) for r in rows}
    return [Bucket(at=at(i), count=counts.get(i, (0, 0))[0], negative=counts.get(i, (0, 0))[1]) for i in range(slots)]
