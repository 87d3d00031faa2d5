"""What the public can see of a live drill: the team's actions, read from the incident's audit trail
(freeze, thaw, statements, deletions) and the sandbox network (every post and reply the brand wrote),
converted to simulated minutes with the drill's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit.models import AuditEvent, as_utc
from runbook.drill.actions import Action, Kind
from runbook.sandbox.tables import mentions as mention_table
from runbook.sandbox.tables import posts as post_table

__all__ = ["Clock", "Seen", "observe"]

# The audit events the public sees as an action of their own (a statement comes with its post).
EVENT_KINDS: dict[str, Kind] = {"freeze.created": "freeze", "thaw.applied": "thaw", "post.deleted": "delete"}


@dataclass(frozen=True)
class Clock:
    wall_start: datetime  # when simulated minute 0 happened
    speed: float  # simulated seconds per wall second

    def minute(self, at: datetime) -> float:
        return max(0.0, (as_utc(at) - as_utc(self.wall_start)).total_seconds() * self.speed / 60)

    def now(self) -> float:
        return self.minute(as_utc(None))


@dataclass
class Seen:
    """What was already turned into actions (so each is seen once, at the minute it was seen)."""

    events: set[int]
    posts: set[int]


def observe(
    db: Engine,
    *,
    incident_id: str,
    brand: str,
    offending_key: str,
    events: Sequence[AuditEvent],
    clock: Clock,
    seen: Seen,
    earliest: int,
) -> list[Action]:
    """New actions since the last call; each is visible from max(its own minute, `earliest`)."""
    out: list[Action] = []

    def at(ts: datetime) -> int:
        return max(earliest, int(clock.minute(ts)))

    statement_keys: set[str] = set()
    for e in events:
        if e.action == "statement.published":
            statement_keys.add(str((e.details or {}).get("key", "")))
        if e.seq in seen.events:
            continue
        event_kind = EVENT_KINDS.get(e.action)
        if event_kind is not None:
            seen.events.add(e.seq)
            out.append(Action(at=at(e.ts), kind=event_kind))
        elif e.action == "statement.published":
            seen.events.add(e.seq)  # its text comes with the sandbox post below
    with db.connect() as connection:
        # The brand's posts and replies, and the statement wherever the publish step put it (the
        # brand profile may name other accounts per platform).
        mine = post_table.c.account == brand
        if statement_keys:
            mine = sa.or_(mine, post_table.c.key.in_(sorted(statement_keys)))
        rows = connection.execute(
            sa.select(post_table).where(mine, post_table.c.created_at >= clock.wall_start).order_by(post_table.c.id)
        ).all()
        authors: dict[str, str] = {}
        refs = [r.in_reply_to for r in rows if r.in_reply_to and r.id not in seen.posts]
        ids = [int(ref[1:]) for ref in refs if ref.startswith("m") and ref[1:].isdigit()]
        if ids:
            for m in connection.execute(
                sa.select(mention_table.c.id, mention_table.c.author).where(mention_table.c.id.in_(ids))
            ):
                authors[f"m{m.id}"] = m.author
    kind: Kind
    for row in rows:
        if row.id in seen.posts or row.key == offending_key:
            continue
        if row.key in statement_keys:
            kind, to = "statement", ""
        elif row.in_reply_to:
            kind = "reply"
            to = authors.get(row.in_reply_to) or (row.text.split()[0].lstrip("@") if row.text.startswith("@") else "")
        elif row.key.startswith(f"{incident_id}:"):
            continue  # a step's post (the statement) is written a moment before its event: wait for it
        else:
            kind, to = "post", ""
        seen.posts.add(row.id)
        out.append(Action(at=at(row.created_at), kind=kind, text=row.text, to=to, ref=f"s{row.id}"))
    return sorted(out)
