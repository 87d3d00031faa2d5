"""Finding runs whose process died mid-step and rescheduling them, so nothing stays Running
forever; and closing incidents whose run ended outside the product. The worker does this at
start and then periodically; `runbook recover` does it once.

A run is judged by the labels its flow process set (host, pid): on the same host a dead pid is
proof; from another host the run's Prefect heartbeats (every 30 s) must have stopped for
`stale_after` seconds. A rescheduled run reruns from the top: completed steps come back from
their persisted results, the interrupted one runs again (its side effects are idempotent).

A run Prefect marked Crashed (its flow process died, e.g. the out-of-memory killer, while the
worker lived on) is the same case as a lost worker and is rescheduled too, up to
MAX_CRASH_RECOVERIES times per incident; only a Failed run (a step failed on its own logic) or
a Cancelled one closes the incident.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from runbook.engine.prefect_io import DEADLINE_FLOW, RESPOND_FLOW

log = logging.getLogger(__name__)

# A fresh run sets its labels within a second of going Running; before that they may still
# name the previous (dead) process of the same run.
LABEL_GRACE = timedelta(seconds=10)
# A run that crashes again and again (a step that always exhausts memory) must end somewhere.
MAX_CRASH_RECOVERIES = 3


@dataclass(frozen=True)
class Stale:
    flow_run_id: str
    flow: str
    state: str
    reason: str
    incident_id: str | None
    # The Prefect state this was judged on: one recovery per state, however many sweeps find it.
    state_id: str | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped) counts as dead
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _last_heartbeat(client, flow_run_id: str, since: datetime) -> datetime | None:
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    try:
        page = client.read_events(
            filter=EventFilter(
                occurred=EventOccurredFilter.model_validate({"since": since}),  # Prefect's own datetime type
                event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
            ),
            limit=1,
        )
    except Exception:  # noqa: BLE001 - no events API: treat as no heartbeat
        return None
    return max((e.occurred for e in page.events), default=None)


def find_stale(
    *, client, stale_after: float = 120.0, now: datetime | None = None, busy: frozenset[str] = frozenset()
) -> list[Stale]:
    """`busy`: runs a live process of the caller (the worker's own runner) is executing: never stale,
    whatever their labels say (a resumed run's new process labels itself late under load)."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    now = now or datetime.now(UTC)
    host = socket.gethostname()
    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[RESPOND_FLOW, DEADLINE_FLOW])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))
        ),
        limit=200,
    )
    flow_names = {}
    out: list[Stale] = []
    for run in runs:
        if str(run.id) in busy:
            continue
        state = run.state
        since = state.timestamp if state is not None else now
        age = now - since
        labels = dict(run.labels or {})
        reason = None
        if state.type == StateType.PENDING:
            if age > timedelta(seconds=stale_after):
                reason = f"pending for {int(age.total_seconds())} s with no process started"
        elif age > LABEL_GRACE:
            pid = labels.get("runbook.pid")
            counted = labels.get("runbook.run_count")
            # A label left by a previous execution (the new process of a resumed run has not
            # labelled itself yet, slow under load) says nothing about the process running now.
            current = counted is None or str(counted) == str(run.run_count)
            if labels.get("runbook.host") == host and pid and str(pid).isdigit() and current:
                if not _pid_alive(int(pid)):
                    reason = f"its process {pid} on {host} is gone"
            elif age > timedelta(seconds=stale_after):
                beat = _last_heartbeat(client, str(run.id), now - timedelta(seconds=stale_after))
                if beat is None:
                    reason = f"no heartbeat for {int(stale_after)} s"
        if reason is None:
            continue
        if run.flow_id not in flow_names:
            flow_names[run.flow_id] = client.read_flow(run.flow_id).name
        out.append(
            Stale(
                flow_run_id=str(run.id),
                flow=flow_names[run.flow_id],
                state=state.name,
                reason=reason,
                incident_id=(run.parameters or {}).get("incident_id"),
                state_id=str(state.id),
            )
        )
    return out


def _crash_recoveries(db, incident_id: str) -> int:
    from runbook.audit import events

    trail = events(db, incident_id)
    crashed = sum(1 for e in trail if e.action == "flow.recovered" and (e.details or {}).get("state") == "Crashed")
    failed = sum(1 for e in trail if e.action == "flow.recover_failed" and (e.details or {}).get("state") == "Crashed")
    return crashed - failed


def _record_intent(db, incident_id: str, stale: Stale, details: dict) -> bool:
    """Append flow.recovered, once per judged Prefect state; False when another sweep already did."""
    from runbook.audit import append, append_once

    event: dict[str, Any] = {
        "incident_id": incident_id,
        "actor": "system",
        "channel": "flow",
        "action": "flow.recovered",
    }
    if stale.state_id is None:
        append(db, **event, details=details)
        return True
    once = ("state_id", stale.state_id)
    return append_once(db, once=once, **event, details={**details, "state_id": stale.state_id}) is not None


def _reschedule(client, db, stale: Stale) -> bool:
    """Audit before effect: the recovery is recorded first, as the intent, then the run is
    rescheduled. A reschedule that fails is recorded as such (the next pass tries again); one whose
    intent cannot be recorded is not made (nor is it lost: the run is still stale at the next pass).
    The intent is a compare-and-set on the Prefect state judged stale: when the worker's sweep and
    `runbook recover` both find one crashed run, one reschedules it and the other returns False
    (two reschedules could start the run twice)."""
    from prefect.states import Scheduled

    from runbook.audit import append

    incident_id = stale.incident_id if db is not None else None
    details = {"flow_run_id": stale.flow_run_id, "reason": stale.reason, "state": stale.state}
    if incident_id:
        try:
            if not _record_intent(db, incident_id, stale, details):
                log.info("run %s was already recovered from this state by another sweep", stale.flow_run_id)
                return False
        except Exception:  # noqa: BLE001 - left for the next pass, with its audit
            log.warning("could not audit the recovery of %s: not rescheduled", stale.flow_run_id, exc_info=True)
            return False
    try:
        client.set_flow_run_state(
            UUID(stale.flow_run_id),
            Scheduled(name="Recovering", message=f"rescheduled by runbook: {stale.reason}"),
            force=True,
        )
    except Exception as exc:
        if incident_id:
            append(
                db,
                incident_id=incident_id,
                actor="system",
                channel="flow",
                action="flow.recover_failed",
                details={**details, "error": f"{type(exc).__name__}: {exc}"[:500]},
            )
        raise
    log.warning("rescheduled %s run %s: %s", stale.flow, stale.flow_run_id, stale.reason)
    return True


def reconcile(*, client, db, dry_run: bool = False) -> list[Stale]:
    """Open incidents whose flow run ended outside the product: a crashed run is rescheduled
    (the same incident's run, from its recorded results); a cancelled or failed one is closed in
    our records too, with an audit entry, instead of showing as waiting forever."""
    from runbook.audit import list_incidents, update_incident

    out: list[Stale] = []
    for incident in list_incidents(db):
        if incident.status in ("completed", "failed", "cancelled") or not incident.flow_run_id:
            continue
        try:
            run = client.read_flow_run(UUID(incident.flow_run_id))
        except Exception:  # noqa: BLE001 - unknown to this server: leave it alone
            continue
        state = run.state
        if state is None or state.type.value not in ("CANCELLED", "FAILED", "CRASHED"):
            continue
        message = (state.message or "").strip().splitlines()[0][:300] if state.message else ""
        if state.type.value == "CRASHED":
            crashes = _crash_recoveries(db, incident.id)
            if crashes < MAX_CRASH_RECOVERIES:
                stale = Stale(
                    flow_run_id=incident.flow_run_id,
                    flow=RESPOND_FLOW,
                    state="Crashed",
                    reason=f"its flow process crashed ({message or 'no message'}); "
                    f"recovery {crashes + 1} of {MAX_CRASH_RECOVERIES}",
                    incident_id=incident.id,
                    state_id=str(state.id),
                )
                if dry_run or _reschedule(client, db, stale):
                    out.append(stale)
                continue
        status = "cancelled" if state.type.value == "CANCELLED" else "failed"
        reason = f"its flow run ended {state.name.lower()} outside runbook"
        if state.type.value == "CRASHED":
            reason += f" after {MAX_CRASH_RECOVERIES} recoveries"
        stale = Stale(
            flow_run_id=incident.flow_run_id,
            flow=RESPOND_FLOW,
            state=state.name,
            reason=reason,
            incident_id=incident.id,
        )
        if dry_run:
            out.append(stale)
            continue
        # The close and its audit event commit together (never a closed incident without its event),
        # as a compare-and-set: the worker's sweep and `runbook recover` may both see it open.
        try:
            update_incident(
                db,
                incident.id,
                status=status,
                expect_status=incident.status,
                event={
                    "actor": "system",
                    "channel": "flow",
                    "action": f"incident.{status}",
                    "details": {
                        "outcome": state.name.lower(),
                        "reason": state.message or f"flow run {state.name.lower()}",
                        "flow_run_id": incident.flow_run_id,
                    },
                },
            )
        except ValueError:  # closed (or moved on) by another sweep since we listed it
            continue
        out.append(stale)
    return out


def recover(*, db=None, stale_after: float = 120.0, dry_run: bool = False, busy=None) -> list[Stale]:
    """Reschedule every stale run (and audit it on its incident); returns what was found."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = find_stale(client=client, stale_after=stale_after, busy=frozenset(busy() if busy else ()))
        if dry_run:
            return found + (reconcile(client=client, db=db, dry_run=True) if db is not None else [])
        found = [stale for stale in found if _reschedule(client, db, stale)]
        if db is not None:
            found += reconcile(client=client, db=db, dry_run=dry_run)
    return found
