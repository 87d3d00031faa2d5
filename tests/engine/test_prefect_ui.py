"""What a team sees and does in the Prefect UI: the sign-off form, an approval made there (recorded
as `prefect-ui` whatever it claims), a refusal whose reason reaches the form, and a resumed run
that does not replay its finished steps as new task runs."""

from __future__ import annotations

import json
import re
import time
from uuid import UUID

import pytest

pytestmark = pytest.mark.prefect


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def wait_paused(flow_run_id: str, key: str, timeout: float = 90) -> None:
    from runbook.engine.prefect_io import view, wait_key

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        current = view(flow_run_id)
        if current.waiting_for is not None and wait_key(current.waiting_for, current.round) == key:
            with _client() as client:
                try:  # the run is marked suspended a moment before its form is stored
                    client.read_flow_run_input(UUID(flow_run_id), f"suspended-{key}-schema")
                    return
                except Exception:  # noqa: BLE001
                    pass
        time.sleep(0.2)
    raise AssertionError(f"run {flow_run_id} never waited on {key}")


def ui_resume(flow_run_id: str, run_input: dict) -> None:
    """What the UI's form does: POST /flow_runs/{id}/resume with the form's values, nothing more."""
    with _client() as client:
        response = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    assert response.status.value == "ACCEPT", response.details


def form(flow_run_id: str, key: str) -> tuple[dict, str]:
    with _client() as client:
        # What the UI reads: the keys of the run's Suspended state (`suspended-<pause key>-...`).
        schema = json.loads(client.read_flow_run_input(UUID(flow_run_id), f"suspended-{key}-schema"))
        description = json.loads(client.read_flow_run_input(UUID(flow_run_id), f"suspended-{key}-description"))
    return schema, description


def task_runs(flow_run_id: str) -> list[str]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with _client() as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])))
    return sorted(r.name for r in runs)


def test_the_ui_form_refusal_and_approval_and_a_cheap_replay(engine):
    from runbook.audit import get_incident

    incident = engine.start("t-gate", {"summary": "ui test"})
    run_id = None
    end = time.monotonic() + 60
    while run_id is None and time.monotonic() < end:
        run_id = get_incident(engine.services.db, incident.id).flow_run_id
        time.sleep(0.1)
    wait_paused(run_id, "signoff-go-ahead-0")

    schema, description = form(run_id, "signoff-go-ahead-0")
    # People see what they fill in, typed; the engine's own fields are not in the form.
    assert set(schema["properties"]) == {"approve", "person", "comment", "choice"}
    assert set(schema["required"]) >= {"person", "choice"}
    choice = schema["definitions"][schema["properties"]["choice"]["$ref"].rsplit("/", 1)[-1]]
    assert choice["enum"] == ["proceed", "hold"]
    assert "Go ahead with ui test?" in description

    # Someone not in the roster submits the form: refused, and the reason is in the next form.
    ui_resume(run_id, {"approve": True, "person": "mallory", "choice": "proceed", "comment": ""})
    wait_paused(run_id, "signoff-go-ahead-1")
    _, description = form(run_id, "signoff-go-ahead-1")
    assert "not counted" in description and "'mallory' is not in the roster" in description
    refused = engine.wait_for(incident, "signoff.refused", step="go-ahead")
    assert refused.channel == "prefect-ui"

    # Alma approves in the UI, claiming (through the API) to be Slack: recorded as prefect-ui.
    ui_resume(run_id, {"approve": True, "person": "alma", "choice": "hold", "comment": "", "channel": "slack"})
    closed = engine.wait_closed(incident)
    approved = engine.wait_for(incident, "signoff.approved", step="go-ahead")
    assert (closed.status, approved.actor, approved.channel) == ("completed", "alma", "prefect-ui")
    assert approved.details["fields"] == {"choice": "hold"}

    # Two resumes replayed the flow twice, yet each step and decision is one task run.
    # Task runs reach the server as events, a moment after they ran: wait for the last one.
    end = time.monotonic() + 60
    while time.monotonic() < end and not any(name.startswith("close") for name in task_runs(run_id)):
        time.sleep(0.5)
    time.sleep(1.0)
    names = task_runs(run_id)
    expected = [
        "begin",
        "hello",
        "go-ahead-signoff",
        "go-ahead-decision-0",
        "go-ahead-decision-1",
        "go-ahead",
        "done",
        "close",
    ]
    # (Prefect may suffix a task run's name with a counter: "close-271".)
    assert sorted(
        next(e for e in expected if re.fullmatch(re.escape(e) + r"(-\d+)?", name)) for name in names
    ) == sorted(expected), names
    assert len(names) <= 2 * (3 + 1 + 1)  # steps + sign-off decisions
    # The story of the incident is in the run's log (Prefect's run logger; the worker prints it).
    log = engine.worker_log.read_text(errors="replace")
    assert "signoff.refused [go-ahead] by mallory via prefect-ui: 'mallory' is not in the roster" in log
