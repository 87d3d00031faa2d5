"""An incident's live status read from its audit trail alone (no Prefect call): the step running,
the sign-offs pending and who may give them. `runbook status` and the demo display it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Pending:
    step: str
    prompt: str
    signers: list[str]
    quorum: int
    approvals: list[str] = field(default_factory=list)
    deadline: str | None = None
    escalated: bool = False


@dataclass
class IncidentStatus:
    id: str
    slug: str
    title: str
    playbook: str
    status: str
    requester: str
    created_at: str
    flow_run_id: str | None
    current_step: str | None
    steps_done: list[str]
    pending: list[Pending]
    last_event: str | None
    kind: str = "incident"
    playbook_changed: str | None = None  # why the playbook file differs from the plan this incident runs
    freeze: dict[str, Any] | None = None  # its active freeze: id, age, posts held, orphaned

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def incident_status(incident: Any, events: list[Any]) -> IncidentStatus:
    pending: dict[str, Pending] = {}
    running: dict[str, bool] = {}
    done: list[str] = []
    for event in events:
        d = event.details or {}
        step = event.step
        action = event.action
        if action == "signoff.requested":
            pending[step] = Pending(
                step=step,
                prompt=d.get("prompt", ""),
                signers=list(d.get("signers", [])),
                quorum=int(d.get("quorum", 1)),
                deadline=d.get("deadline"),
            )
        elif action == "signoff.escalated" and step in pending:
            pending[step].signers = list(d.get("signers", pending[step].signers))
            pending[step].deadline = d.get("deadline")
            pending[step].escalated = True
        elif action == "signoff.approved" and step in pending:
            pending[step].approvals = list(d.get("approvals", []))
        elif action in ("signoff.granted", "signoff.rejected"):
            pending.pop(step, None)
        elif action == "signoff.timed_out" and step in pending:
            pending[step].deadline = None
        elif action == "step.started":
            running[step] = True
        elif action == "step.applied":  # a granted "after" gate applied (docs/engine.md)
            running.pop(step, None)
        elif action in ("step.finished", "step.failed", "step.skipped"):
            running.pop(step, None)
            pending.pop(step, None)
            if action != "step.failed":
                done.append(step)
    closed = incident.status in ("completed", "failed", "cancelled")
    if closed:
        pending.clear()
        running.clear()
    current = next(iter(running), None) or next(iter(pending), None)
    return IncidentStatus(
        id=incident.id,
        slug=incident.slug,
        title=incident.title,
        playbook=f"{incident.playbook_id} v{incident.playbook_version}",
        status=incident.status,
        requester=incident.requester,
        created_at=incident.created_at.isoformat(timespec="seconds"),
        flow_run_id=incident.flow_run_id,
        current_step=current,
        steps_done=done,
        pending=list(pending.values()),
        last_event=f"{events[-1].action}" if events else None,
        kind=getattr(incident, "kind", None) or "incident",
    )
