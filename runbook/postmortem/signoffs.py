"""The sign-off record: for each gate, when it was asked, who approved, who was refused and why,
escalations, the verdict and how long people waited for it. Read from the signoff.* events.
"""

from __future__ import annotations

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import Approval, Escalation, Refusal, Signoff

SIGNOFF_ACTIONS = (
    n.SIGNOFF_REQUESTED,
    n.SIGNOFF_APPROVED,
    n.SIGNOFF_GRANTED,
    n.SIGNOFF_REJECTED,
    n.SIGNOFF_REFUSED,
    n.SIGNOFF_TIMED_OUT,
    n.SIGNOFF_ESCALATED,
)


def _open(event) -> dict:
    return {
        "step": event.step,
        "requested_at": event.ts,
        "requested_seq": event.seq,
        "outcome": "pending",
        "decided_at": None,
        "decided_seq": None,
        "wait_seconds": None,
        "quorum": int(event.details.get("quorum") or 1),
        "approvers": [],
        "approvals": [],
        "refused": [],
        "escalations": [],
        "timed_out": False,
        "rejected_by": None,
        "_timeout": None,
    }


def _decide(gate: dict, event, outcome: str) -> None:
    gate["outcome"], gate["decided_at"], gate["decided_seq"] = outcome, event.ts, event.seq
    gate["wait_seconds"] = (event.ts - gate["requested_at"]).total_seconds()


def _answer(event) -> dict:
    """Who answered the gate, when, through which channel, at which event: what an approval and a
    refusal both record."""
    return {"person": event.actor, "at": event.ts, "channel": event.channel, "seq": event.seq}


def signoffs(facts: Facts) -> list[Signoff]:
    gates: dict[str, dict] = {}
    for event in facts.all(*SIGNOFF_ACTIONS):
        action = event.action
        if event.step is None:
            continue
        if action == n.SIGNOFF_REQUESTED:
            gates.setdefault(event.step, _open(event))
            continue
        gate = gates.get(event.step)
        if gate is None or gate["outcome"] != "pending":
            continue  # a verdict without a request, or noise after the verdict: the timeline shows it
        d = event.details
        if action == n.SIGNOFF_APPROVED:
            gate["approvals"].append(Approval(**_answer(event), comment=str(d.get("comment") or "")))
        elif action == n.SIGNOFF_GRANTED:
            _decide(gate, event, "granted")
            gate["approvers"] = [str(p) for p in d.get("approvers") or [a.person for a in gate["approvals"]]]
        elif action == n.SIGNOFF_REJECTED:
            _decide(gate, event, "rejected")
            gate["rejected_by"] = event.actor
        elif action == n.SIGNOFF_REFUSED:
            gate["refused"].append(Refusal(**_answer(event), reason=str(d.get("reason") or "")))
        elif action == n.SIGNOFF_TIMED_OUT:
            gate["timed_out"] = True
            gate["_timeout"] = event
        elif action == n.SIGNOFF_ESCALATED:
            # The engine records the timeout first, then the escalation that keeps the gate open.
            gate["_timeout"] = None
            gate["escalations"].append(
                Escalation(at=event.ts, seq=event.seq, to=[str(p) for p in d.get("to") or d.get("signers") or []])
            )
    out = []
    for gate in gates.values():
        timeout = gate.pop("_timeout")
        if gate["outcome"] == "pending" and timeout is not None:
            _decide(gate, timeout, "timeout")
        if gate["outcome"] == "pending":
            gate["approvers"] = [a.person for a in gate["approvals"]]
        out.append(Signoff(**gate))
    return out
