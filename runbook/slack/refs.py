"""What the Slack app writes to and reads back from the audit trail: war rooms, deliveries of keyed
messages, and sign-off messages with the opaque tokens their buttons carry.

The trail is the shared state: any `runbook serve` process (or a restarted one) resolves a token
or finds a message to update from it; the in-memory maps only save the scans.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from runbook.audit import append, events, list_incidents

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.audit import AuditEvent

WAR_ROOM = "slack.war_room"
DELIVERED = "slack.delivered"
SIGNOFF_POSTED = "slack.signoff_posted"
REFUSED = "slack.refused"
CLOSED = ("completed", "failed", "cancelled")
LEDGERS = ("slack-access", "post-queue")  # playbook ids of ledgers: trails, not incidents
ACTOR = "system:slack"


@dataclass(frozen=True)
class SignoffRef:
    """The server-side meaning of a sign-off button's opaque token."""

    token: str
    incident_id: str
    step: str
    phase: int
    key: str
    channel: str
    ts: str
    review: int = 0  # an "after" gate reopened on new outputs asks again: round 1, 2, ...


@dataclass(frozen=True)
class WarRoom:
    incident_id: str
    channel: str
    name: str
    status_ts: str | None


def parse_key(key: str) -> tuple[str, int, int] | None:
    """(step, phase, review) of the engine's sign-off request key `<incident>:<step>:signoff:<phase>[:<review>]`."""
    parts = key.split(":")
    if len(parts) > 4 and parts[-1].startswith("r") and parts[-1][1:].isdigit():
        parts = parts[:-1]  # a resumed run asks again under `:r<generation>` (runbook.engine.resume)
    if len(parts) not in (4, 5) or parts[2] != "signoff" or not all(p.isdigit() for p in parts[3:]):
        return None
    return parts[1], int(parts[3]), int(parts[4]) if len(parts) == 5 else 0


def ref_from_event(event: Any) -> SignoffRef:
    d = event.details or {}
    return SignoffRef(
        token=d["token"],
        incident_id=event.incident_id,
        step=event.step,
        phase=int(d["phase"]),
        key=d["key"],
        channel=d["channel"],
        ts=d["ts"],
        review=int(d.get("review", 0)),
    )


def new_token() -> str:
    return secrets.token_urlsafe(18)


def record(
    db: Any, incident_id: str, action: str, details: dict[str, Any], *, step: str | None = None, actor: str = ACTOR
) -> None:
    append(db, incident_id=incident_id, actor=actor, channel="slack", action=action, step=step, details=details)


def delivery(evts: list[Any], key: str) -> dict[str, Any] | None:
    """{channel, ts, token?} of the Slack message posted for `key`, if any."""
    for event in evts:
        d = event.details or {}
        if d.get("key") != key:
            continue
        if event.action == "chat.posted" and isinstance(d.get("slack"), dict):
            return d["slack"]
        if event.action in (DELIVERED, SIGNOFF_POSTED):
            return {"channel": d.get("channel"), "ts": d.get("ts"), "token": d.get("token")}
    return None


def select_events(
    db: Engine, incident_id: str, *, after: int = 0, step: str | None = None, actions: tuple[str, ...] = ()
) -> list[AuditEvent]:
    """Part of an incident's trail in order: events after seq `after` that belong to `step` or have
    one of `actions` (all of them when neither is given). Reading a long trail whole costs
    milliseconds of CPU that a click under load should not pay; the trail is append-only, so a
    reader that keeps what it read only ever needs the tail."""
    import sqlalchemy as sa

    from runbook.audit import AuditEvent

    table = AuditEvent.metadata.tables["audit_event"]  # the mapped table, typed (SQLModel hides __table__)
    query = sa.select(table).where(table.c.incident_id == incident_id, table.c.seq > after)
    wanted = ([table.c.step == step] if step is not None else []) + ([table.c.action.in_(actions)] if actions else [])
    if wanted:
        query = query.where(sa.or_(*wanted))
    with db.connect() as connection:
        return [AuditEvent(**row._mapping) for row in connection.execute(query.order_by(table.c.seq))]


def events_after(db: Engine, incident_id: str, seq: int) -> list[AuditEvent]:
    return select_events(db, incident_id, after=seq)


def war_room(evts: list[Any]) -> WarRoom | None:
    for event in evts:
        if event.action == WAR_ROOM:
            d = event.details or {}
            return WarRoom(
                incident_id=event.incident_id,
                channel=d["channel"],
                name=d.get("name", ""),
                status_ts=d.get("status_ts"),
            )
    return None


class Refs:
    """Token -> SignoffRef, from memory or, after a restart or in another process, the trail."""

    def __init__(self, db: Any):
        self.db = db
        self._by_token: dict[str, SignoffRef] = {}
        self._lock = threading.Lock()

    def remember(self, ref: SignoffRef) -> None:
        with self._lock:
            self._by_token[ref.token] = ref

    def record(self, ref: SignoffRef) -> None:
        details = {k: v for k, v in asdict(ref).items() if k not in ("incident_id", "step")}
        record(self.db, ref.incident_id, SIGNOFF_POSTED, details, step=ref.step)
        self.remember(ref)

    def resolve(self, token: str) -> SignoffRef | None:
        if not isinstance(token, str) or not (8 <= len(token) <= 64):
            return None
        with self._lock:
            found = self._by_token.get(token)
        if found is not None:
            return found
        # Only open incidents: a closed incident's buttons have nothing left to decide.
        for incident in reversed(list_incidents(self.db)):
            if incident.status in CLOSED:
                continue
            for event in events(self.db, incident.id):
                d = event.details or {}
                if event.action == SIGNOFF_POSTED and d.get("token") == token:
                    ref = ref_from_event(event)
                    self.remember(ref)
                    return ref
        return None

    def for_step(self, incident_id: str, step: str) -> list[SignoffRef]:
        """Every sign-off message posted for `step` (phase 0 and an escalation), oldest first."""
        return [
            ref_from_event(e) for e in events(self.db, incident_id) if e.action == SIGNOFF_POSTED and e.step == step
        ]
