"""Acknowledgements of the people convened for an incident: who was asked, by when, who answered,
and escalation to a deputy when the deadline passes. Nothing waits: the step records requests,
`acknowledge` records answers, and `escalate_overdue` (run by `runbook monitor` on every tick,
by the monitor flow, or by `runbook acks --escalate`) handles the deadlines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook import audit
from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.listen.tables import acks

__all__ = ["AckRequest", "Escalation", "acknowledge", "ack_status", "escalate_overdue", "request_acks"]

ACTOR = "system:convene"
MAX_LEVEL = 3  # deputy of a deputy of a deputy: past that, nobody new is asked


@dataclass(frozen=True)
class AckRequest:
    id: int
    incident_id: str
    step_id: str
    person: str
    team: str
    level: int
    deputy_of: str | None
    asked_at: datetime
    deadline: datetime
    acked_at: datetime | None
    acked_via: str | None
    escalated_at: datetime | None

    @property
    def state(self) -> str:
        if self.acked_at is not None:
            return "acknowledged"
        return "escalated" if self.escalated_at is not None else "waiting"

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("asked_at", "deadline", "acked_at", "escalated_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["state"] = self.state
        return out


@dataclass(frozen=True)
class Escalation:
    incident_id: str
    step_id: str
    person: str
    team: str
    deputy: str | None  # None: nobody to escalate to (recorded as unanswered)
    deadline: datetime | None


def _request(row: sa.Row) -> AckRequest:
    return AckRequest(**row._mapping)


def ack_status(engine: Engine, incident_id: str, step_id: str | None = None) -> list[AckRequest]:
    query = sa.select(acks).where(acks.c.incident_id == incident_id).order_by(acks.c.id)
    if step_id is not None:
        query = query.where(acks.c.step_id == step_id)
    with engine.connect() as connection:
        return [_request(r) for r in connection.execute(query)]


def request_acks(
    engine: Engine,
    *,
    incident_id: str,
    step_id: str,
    people: Sequence[tuple[str, str]],
    within: timedelta,
    now: datetime | None = None,
) -> list[AckRequest]:
    """Ask each (person, team) once; a rerun of the step keeps the first requests and deadlines."""
    at = as_utc(now)

    def work(connection: Connection) -> None:
        have = set(
            connection.execute(
                sa.select(acks.c.person).where(acks.c.incident_id == incident_id, acks.c.step_id == step_id)
            ).scalars()
        )
        for person, team in people:
            if person not in have:
                have.add(person)
                # Every column named, as each package's inserts are (freeze, channel ledger): a new request
                # is its full row, and a column added to the table must be added here on purpose.
                connection.execute(
                    acks.insert().values(
                        incident_id=incident_id,
                        step_id=step_id,
                        person=person,
                        team=team,
                        level=0,
                        deputy_of=None,
                        asked_at=at,
                        deadline=at + within,
                        acked_at=None,
                        acked_via=None,
                        escalated_at=None,
                    )
                )

    write_transaction(engine, work)
    return ack_status(engine, incident_id, step_id)


# Keyword-only like sandbox ensure_account's signature, in shape only: the CLI and Slack each name
# the incident, the person and their channel (`via`); only the CLI picks a step.
def acknowledge(
    engine: Engine,
    *,
    incident_id: str,
    person: str,
    via: str = "cli",
    step_id: str | None = None,
    now: datetime | None = None,
) -> list[AckRequest]:
    """Record `person`'s acknowledgement of every open request of the incident (or of one step).

    Returns the requests it answered; raises LookupError when the person was not asked.
    """
    at = as_utc(now)
    where = [acks.c.incident_id == incident_id, acks.c.person == person, acks.c.acked_at.is_(None)]
    if step_id is not None:
        where.append(acks.c.step_id == step_id)

    def work(connection: Connection) -> list[int]:
        ids = list(connection.execute(sa.select(acks.c.id).where(*where)).scalars())
        if ids:
            connection.execute(
                acks.update().where(acks.c.id.in_(ids), acks.c.acked_at.is_(None)).values(acked_at=at, acked_via=via)
            )
        return ids

    ids = write_transaction(engine, work)
    if not ids:
        asked = [r for r in ack_status(engine, incident_id, step_id) if r.person == person]
        if not asked:
            raise LookupError(f"{person} was not asked to join this incident")
        return []
    answered = [r for r in ack_status(engine, incident_id, step_id) if r.id in ids]
    for step in sorted({r.step_id for r in answered}):
        audit.append(
            engine,
            incident_id=incident_id,
            actor=person,
            channel=via,
            action="convene.acknowledged",
            step=step,
            details={
                "person": person,
                "teams": sorted({r.team for r in answered if r.step_id == step}),
                "late": any(at > r.deadline for r in answered if r.step_id == step),
            },
        )
    return answered


def escalate_overdue(
    engine: Engine,
    *,
    roster: Any,
    now: datetime | None = None,
    chat_for: Callable[[str], Any] | None = None,
    open_room: Callable[[str, list[str]], Any] | None = None,
) -> list[Escalation]:
    """Every request past its deadline, unanswered and not yet escalated, goes to the person's deputy
    (asked with the same time to answer); without a deputy it is recorded as unanswered.

    Safe to run from several processes at once: a request is escalated by whoever marks it first.
    """
    at = as_utc(now)
    query = sa.select(acks).where(acks.c.acked_at.is_(None), acks.c.escalated_at.is_(None), acks.c.deadline <= at)
    with engine.connect() as connection:
        overdue = [_request(r) for r in connection.execute(query.order_by(acks.c.id))]
    done: list[Escalation] = []
    for request in overdue:
        person = roster.person(request.person) if roster is not None else None
        deputy = person.deputy if person is not None else None
        within = request.deadline - request.asked_at

        def work(connection: Connection, request=request, deputy=deputy, within=within) -> tuple[str, str | None]:
            marked = connection.execute(
                acks.update()
                .where(acks.c.id == request.id, acks.c.escalated_at.is_(None), acks.c.acked_at.is_(None))
                .values(escalated_at=at)
            ).rowcount
            if not marked:
                return "taken", None
            if deputy is None or request.level >= MAX_LEVEL:
                return "unanswered", None
            asked = connection.execute(
                sa.select(acks.c.acked_at).where(
                    acks.c.incident_id == request.incident_id,
                    acks.c.step_id == request.step_id,
                    acks.c.person == deputy,
                )
            ).first()
            if asked is not None:  # the deputy was convened too: nobody new to ask
                return ("covered" if asked.acked_at is not None else "waiting"), deputy
            connection.execute(
                acks.insert().values(
                    incident_id=request.incident_id,
                    step_id=request.step_id,
                    person=deputy,
                    team=request.team,
                    level=request.level + 1,
                    deputy_of=request.person,
                    asked_at=at,
                    deadline=at + within,
                    acked_at=None,
                    acked_via=None,
                    escalated_at=None,
                )
            )
            return "asked", deputy

        state, outcome = write_transaction(engine, work)
        if state == "taken":
            continue
        new_deadline = at + within if state == "asked" else None
        audit.append(
            engine,
            incident_id=request.incident_id,
            actor=ACTOR,
            channel="flow",
            action="convene.escalated" if outcome else "convene.unanswered",
            step=request.step_id,
            details={
                "person": request.person,
                "team": request.team,
                "deputy": outcome,
                "deputy_state": state,
                "deadline": request.deadline.isoformat(),
                "deputy_deadline": new_deadline.isoformat() if new_deadline else None,
            },
        )
        # An Escalation from the request's identifying fields plus this round's outcome: it carries no id,
        # level or timestamps of the row, so it is built by name rather than copied from AckRequest.
        done.append(
            Escalation(
                incident_id=request.incident_id,
                step_id=request.step_id,
                person=request.person,
                team=request.team,
                deputy=outcome,
                deadline=new_deadline,
            )
        )
        if state == "asked" and outcome is not None and open_room is not None:  # "asked" always names the deputy
            open_room(request.incident_id, [outcome])
        chat = chat_for(request.incident_id) if chat_for is not None else None
        if chat is not None:
            incident = audit.get_incident(engine, request.incident_id)
            ref = incident.slug if incident is not None else request.incident_id
            head = f"{request.person} ({request.team}) did not acknowledge by {request.deadline:%H:%M} UTC; "
            tail = {
                "asked": f"asking their deputy {outcome} (by {new_deadline:%H:%M} UTC): runbook ack {ref} --as {outcome}"
                if new_deadline
                else "",
                "covered": f"their deputy {outcome} is on it already.",
                "waiting": f"their deputy {outcome} was asked too and has not acknowledged either.",
                "unanswered": "nobody stands in for them: find someone for the team.",
            }[state]
            chat.post(
                None, head + tail, key=f"convene:{request.incident_id}:{request.step_id}:escalate:{request.person}"
            )
    return done
