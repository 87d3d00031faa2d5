"""Deviations from the playbook: skips not by design (a false `when:` is the playbook working),
sign-off timeouts, failures and retries, rejections, a statement refused at publishing, a cancelled
incident, posts already publishing at the freeze or published while the queue was frozen.
"""

from __future__ import annotations

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts
from runbook.postmortem.model import Deviation, DeviationKind
from runbook.postmortem.trail import Event

_BY_DESIGN = "condition is false"
_READ = (
    n.STEP_SKIPPED,
    n.SIGNOFF_TIMED_OUT,
    n.STEP_FAILED,
    n.STEP_ATTEMPT_FAILED,
    n.SIGNOFF_REJECTED,
    "incident.cancelled",
    n.STATEMENT_REFUSED,
    n.FLOW_START_FAILED,
    n.FREEZE_CREATED,
    n.THAW_APPLIED,
    n.POST_PUBLISHED,
)


def _text(value: object, limit: int = 300) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def deviations(facts: Facts) -> list[Deviation]:
    out: list[Deviation] = []

    def add(kind: DeviationKind, event: Event, detail: str) -> None:
        out.append(Deviation(kind=kind, step=event.step, at=event.ts, seq=event.seq, detail=_text(detail)))

    frozen_since = None
    for event in facts.all(*_READ):
        d, action = event.details, event.action
        if action == n.STEP_SKIPPED and not str(d.get("reason", "")).startswith(_BY_DESIGN):
            add("skipped", event, d.get("reason") or "skipped")
        elif action == n.SIGNOFF_TIMED_OUT:
            add("timeout", event, f"sign-off deadline passed ({d.get('reason') or 'no decision in time'})")
        elif action == n.STEP_FAILED:
            add("failed", event, d.get("error") or "failed")
        elif action == n.STEP_ATTEMPT_FAILED:
            add("retried", event, f"attempt {d.get('attempt', '?')} failed: {d.get('error') or ''}")
        elif action == n.SIGNOFF_REJECTED:
            add("rejected", event, f"rejected by {event.actor}" + (f": {d['comment']}" if d.get("comment") else ""))
        elif action == "incident.cancelled":
            add("cancelled", event, f"cancelled by {event.actor}: {d.get('reason') or ''}")
        elif action == n.STATEMENT_REFUSED:
            add("statement_refused", event, f"publishing refused: blocking findings {d.get('blocking') or ''}")
        elif action == n.FLOW_START_FAILED:
            add("start_failed", event, d.get("error") or "the flow run could not be created")
        elif action == n.FREEZE_CREATED:
            frozen_since = frozen_since or event.ts
            if d.get("publishing"):
                names = ", ".join(str(p.get("id", p)) if isinstance(p, dict) else str(p) for p in d["publishing"])
                add("publishing_at_freeze", event, f"already publishing when the freeze committed: {names}")
        elif action == n.THAW_APPLIED:
            frozen_since = None
        elif action == n.POST_PUBLISHED and frozen_since is not None:
            add("silence_broken", event, f"post {d.get('post')} was published while the queue was frozen")
    return out
