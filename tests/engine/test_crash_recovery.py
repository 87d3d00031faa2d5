"""A flow process that dies while its worker lives on (what the kernel's out-of-memory killer
does): Prefect marks the run Crashed; recovery reschedules the same incident's run, the recorded
results stand, the interrupted side effect is not done twice, and the incident completes."""

from __future__ import annotations

import json
import os
import signal
import time
from uuid import UUID

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


def _flow_pid(flow_run_id: str) -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        labels = dict(client.read_flow_run(UUID(flow_run_id)).labels or {})
    return int(labels["runbook.pid"])


def test_a_sigkilled_flow_process_is_recovered_not_failed(engine):
    from runbook.audit import get_incident
    from runbook.engine.prefect_io import view
    from runbook.engine.recovery import recover

    incident = engine.start("t-effect", title="crash")
    engine.wait_for(incident, "signoff.requested", step="approve-it")
    engine.approve(incident, "approve-it", "alma")
    home = engine.services.settings.home
    attempts = home / "attempts.log"
    key = f"{incident.id}:effect:customer-1"

    end = time.monotonic() + 90
    while not (attempts.exists() and key in attempts.read_text()):
        assert time.monotonic() < end, engine.tail()
        time.sleep(0.2)
    flow_run_id = get_incident(engine.services.db, incident.id).flow_run_id
    pid = _flow_pid(flow_run_id)
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)  # the flow process alone; the worker survives

    end = time.monotonic() + 60
    while view(flow_run_id).state_type in ("RUNNING",):
        assert time.monotonic() < end, engine.tail()
        time.sleep(0.2)
    # `runbook recover` (or the worker's own sweep, whichever comes first) reschedules it.
    found = recover(db=engine.services.db)
    assert all(not s.reason.startswith("its flow run ended") for s in found), found
    closed = engine.wait_closed(incident, timeout=150)

    events = engine.events(incident)
    actions = [(e.action, e.step) for e in events if e.action != "chat.posted"]
    assert closed.status == "completed", (actions, engine.tail())
    recovered = [e for e in events if e.action == "flow.recovered"]
    # One recovery, although this call and the worker's sweep may both have found the crash.
    assert [e.details["state"] for e in recovered] == ["Crashed"], recovered
    # The interrupted step ran again; its side effect happened once; nothing before it repeated.
    assert [line for line in attempts.read_text().splitlines() if line == key] == [key, key]
    ledger = [json.loads(line)["key"] for line in (home / "effects.jsonl").read_text().splitlines()]
    assert ledger.count(key) == 1
    assert actions.count(("step.finished", "effect")) == 1
    assert actions.count(("signoff.approved", "approve-it")) == 1
    assert actions.count(("step.finished", "after")) == 1
    keys = [e.details["key"] for e in events if e.action == "chat.posted"]
    assert len(keys) == len(set(keys))


def test_a_reschedule_is_audited_before_it_is_made_and_a_failed_one_too(engine):
    """Audit before effect: recovery records its intent, then reschedules; a reschedule Prefect
    refuses (here: a run it does not know) is recorded as failed and does not count as a recovery."""
    from uuid import uuid4

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from runbook.audit import create_incident, events, verify
    from runbook.engine.prefect_io import RESPOND_FLOW
    from runbook.engine.recovery import Stale, _crash_recoveries, _reschedule

    db = engine.services.db
    incident = create_incident(
        db, playbook_id="t-gate", playbook_version=1, inputs={}, requester="ron", title="recovery intent"
    )
    stale = Stale(
        flow_run_id=str(uuid4()),
        flow=RESPOND_FLOW,
        state="Crashed",
        reason="its process is gone",
        incident_id=incident.id,
    )
    with get_client(sync_client=True) as client, pytest.raises(ObjectNotFound):
        _reschedule(client, db, stale)
    trail = events(db, incident.id)
    assert [e.action for e in trail] == ["flow.recovered", "flow.recover_failed"]
    assert trail[1].details["flow_run_id"] == stale.flow_run_id and trail[1].details["error"]
    assert _crash_recoveries(db, incident.id) == 0
    assert verify(db, incident.id).ok
