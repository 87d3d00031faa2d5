"""Authorisation of sign-off decisions against the roster: who may sign, quorum, two-person rule.

Pure functions over plain data: the flow calls `judge` for every decision Prefect hands back,
because Prefect's open-source server records no identity and anyone with API access may resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from runbook.plan import GatePlan
from runbook.spec.models import coerce_field_value
from runbook.spec.roster import Roster

# The deadline job fires at the deadline; a little slack absorbs clock differences between hosts.
DEADLINE_SLACK = timedelta(seconds=2)

Outcome = Literal["approved", "granted", "rejected", "refused", "timeout"]


@dataclass(frozen=True)
class Ballot:
    """One decision as received: validated scalars only."""

    approve: bool
    person: str
    channel: str
    comment: str = ""
    escalate: bool = False
    decision_id: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    # How the person was identified (runbook.engine.identity): "slack" or "cli" when verified,
    # "" for a claim (the Prefect UI, or a resume whose decision no Slack click or CLI attested).
    verified_as: str = ""


@dataclass(frozen=True)
class Tally:
    """What a gate has collected so far; carried from one wait to the next."""

    approvals: tuple[str, ...] = ()
    escalated: bool = False
    decision_ids: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "approvals": list(self.approvals),
            "escalated": self.escalated,
            "decision_ids": list(self.decision_ids),
            "fields": dict(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            approvals=tuple(data.get("approvals", ())),
            escalated=bool(data.get("escalated")),
            decision_ids=tuple(data.get("decision_ids", ())),
            fields=dict(data.get("fields", {})),
        )


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    tally: Tally

    @property
    def final(self) -> bool:
        return self.outcome in ("granted", "rejected", "timeout")


def judge(
    *,
    gate: GatePlan,
    roster: Roster,
    requester: str,
    tally: Tally,
    ballot: Ballot,
    now: datetime,
    deadline: datetime | None,
    required: tuple[str, ...] = (),
) -> Verdict:
    """What `ballot` does to a gate that has collected `tally`. `required`: the verified
    identities this gate accepts ("slack", "cli"); empty when a claimed identity will do."""

    def refuse(reason: str) -> Verdict:
        seen = tally.decision_ids + ((ballot.decision_id,) if ballot.decision_id else ())
        return Verdict("refused", reason, replace(tally, decision_ids=seen))

    if ballot.escalate:
        # Only the deadline job sends this; anyone else could, so the clock decides.
        if deadline is None:
            return refuse("this sign-off has no deadline")
        if now + DEADLINE_SLACK < deadline:
            return refuse(f"the deadline has not passed (it is {deadline.isoformat(timespec='seconds')})")
        return Verdict("timeout", "the deadline passed", tally)
    if ballot.decision_id and ballot.decision_id in tally.decision_ids:
        return refuse("this decision was already received")
    person = roster.person(ballot.person) if ballot.person else None
    if person is None:
        return refuse(f"{ballot.person!r} is not in the roster" if ballot.person else "no person given")
    if required and ballot.verified_as not in required:
        how = f"verified by {ballot.verified_as}" if ballot.verified_as else "only claimed"
        return refuse(f"this sign-off needs an identity verified by {' or '.join(required)}; {person.id}'s was {how}")
    if gate.not_requester and person.id == requester:
        return refuse(f"{person.id} started this incident and may not sign this step (two-person rule)")
    holds_role = bool(set(person.roles) & set(gate.roles))
    if not holds_role and not (tally.escalated and person.id in gate.escalation):
        why = f"{person.id} holds none of the roles {', '.join(gate.roles)}"
        if gate.escalation:
            why += " and is not among those asked on escalation" if tally.escalated else " (not escalated)"
        return refuse(why)
    seen = tally.decision_ids + ((ballot.decision_id,) if ballot.decision_id else ())
    if not ballot.approve:
        return Verdict("rejected", f"rejected by {person.id}", replace(tally, decision_ids=seen))
    if person.id in tally.approvals:
        return refuse(f"{person.id} already approved; the quorum of {gate.quorum} needs different people")
    defaults, given, problems = _check_fields(gate, ballot.fields, earlier=tally.fields)
    if problems:
        return refuse("; ".join(problems))
    # Defaults fill gaps; what an approver actually gave wins over earlier approvers' values.
    merged = {**defaults, **tally.fields, **given}
    counted = Tally(
        approvals=tally.approvals + (person.id,), escalated=tally.escalated, decision_ids=seen, fields=merged
    )
    if len(counted.approvals) >= gate.quorum:
        return Verdict("granted", f"{len(counted.approvals)} of {gate.quorum} approvals", counted)
    return Verdict("approved", f"{len(counted.approvals)} of {gate.quorum} approvals", counted)


def _check_fields(
    gate: GatePlan, given: Mapping[str, Any], *, earlier: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(defaults, values given, problems) for the gate's fields; unknown names are ignored."""
    defaults: dict[str, Any] = {}
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, spec in gate.fields.items():
        defaults[name] = spec.default
        value = given.get(name)
        if value is None or value == "":
            if spec.required and earlier.get(name) in (None, ""):
                problems.append(f"{name} is required")
            continue
        try:
            out[name] = coerce_field_value(spec, value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    return defaults, out, problems
