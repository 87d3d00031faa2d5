"""The flows a worker serves: `respond` (one run per incident) and `signoff-deadline` (a run
scheduled at a gate's deadline that escalates it). Composition only; see runbook.engine.
"""

from __future__ import annotations

from prefect import flow

from runbook.engine.prefect_io import DEADLINE_FLOW, RESPOND_FLOW


@flow(
    name=RESPOND_FLOW,
    persist_result=True,
    validate_parameters=True,
    description="Run an incident's playbook step by step, with sign-offs",
)
def respond(incident_id: str):
    from runbook.engine.runner import run_incident

    return run_incident(incident_id=incident_id)


@flow(name=DEADLINE_FLOW, description="Escalate a sign-off whose deadline passed")
def signoff_deadline(flow_run_id: str, step_id: str, phase: int) -> str:
    from runbook.engine.prefect_io import fire_deadline

    return fire_deadline(flow_run_id=flow_run_id, step_id=step_id, phase=phase)
