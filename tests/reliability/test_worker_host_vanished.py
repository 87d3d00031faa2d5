"""A run whose worker host vanished: the run is Running, labelled with another host's name and
pid, and no heartbeat arrives. `recover` (the worker's sweep, `runbook recover`) finds it stale by
heartbeat expiry, reschedules it with an audit entry on its incident, and a live worker carries
the incident to completion."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from runbook import audit
from runbook.engine import commands
from runbook.engine.prefect_io import RESPOND_DEPLOYMENT


def test_a_run_of_a_vanished_host_is_rescheduled_and_completes(engine) -> None:  # noqa: ANN001
    from prefect.client.orchestration import get_client
    from prefect.states import Running, Scheduled

    from runbook.engine.recovery import LABEL_GRACE, recover

    started = commands.start(
        services=engine.services,
        playbook_ref="t-when",
        inputs={},
        requester="ron",
        title="host vanished",
        create_run=False,
    )
    incident = started.incident
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(RESPOND_DEPLOYMENT)
        # Not due for an hour: the live worker leaves it alone until recovery reschedules it.
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"incident_id": incident.id},
            name=incident.slug,
            state=Scheduled(scheduled_time=datetime.now(UTC) + timedelta(hours=1)),
        )
        audit.update_incident(engine.services.db, incident.id, flow_run_id=str(run.id))
        # What a worker on another machine left behind when that machine died mid-step.
        client.set_flow_run_state(run.id, Running(), force=True)
        client.update_flow_run_labels(run.id, {"runbook.host": "ghost-host-that-died", "runbook.pid": "4242"})
    time.sleep(LABEL_GRACE.total_seconds() + 1)

    found = recover(db=engine.services.db, stale_after=1)
    mine = [s for s in found if s.flow_run_id == str(run.id)]
    assert [s.reason for s in mine] == ["no heartbeat for 1 s"], found
    recovered = engine.wait_for(incident, "flow.recovered")
    assert recovered.details["flow_run_id"] == str(run.id)

    closed = engine.wait_closed(incident)
    assert closed.status == "completed", engine.trail(incident)
    with get_client(sync_client=True) as client:
        labels = dict(client.read_flow_run(UUID(str(run.id))).labels or {})
    assert labels.get("runbook.host") != "ghost-host-that-died"  # the live worker took it over
    assert audit.verify(engine.services.db, incident.id).ok
