"""One execution of the respond flow: the incident, its plan, what earlier steps produced, and the
task options every engine task shares (persisted results under run-scoped cache keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from runbook.engine.record import Recorder
from runbook.engine.services import Services
from runbook.plan import Plan, StepPlan
from runbook.spec.expressions import expression_context
from runbook.steps.base import StepContext, StepServices

if TYPE_CHECKING:
    from prefect.context import TaskRunContext


@dataclass
class Run:
    services: Services
    incident: Any  # runbook.audit.Incident
    plan: Plan
    record: Recorder
    chat: Any
    # step id -> {"outputs": {...}, "status": "completed" | "skipped" | ..., "decision": {...}}
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress_at: float = 0.0  # monotonic time of the last progress artifact (see artifacts)
    replay: Any = None  # runbook.engine.resume.Replay when the incident was resumed
    _step_services: StepServices | None = field(default=None, repr=False)

    @property
    def incident_info(self) -> dict[str, Any]:
        i = self.incident
        return {
            "id": i.id,
            "slug": i.slug,
            "title": i.title,
            "requester": i.requester,
            "severity": i.severity,
            "channel": i.channel,
        }

    def expressions(self) -> dict[str, Any]:
        return expression_context(inputs=self.plan.inputs, steps=self.steps, incident=self.incident_info)

    def step_context(self, step: StepPlan, *, decision: dict[str, Any] | None) -> StepContext:
        return StepContext(
            incident_id=self.incident.id,
            incident_slug=self.incident.slug,
            requester=self.incident.requester,
            step_id=step.id,
            inputs=self.plan.inputs,
            steps=self.steps,
            audit=partial(self._audit, step=step.id),
            chat=self.chat,
            channel=self.incident.channel,
            decision=decision,
            services=self.step_services(),
        )

    def _audit(self, action: str, details: Mapping[str, Any] | None = None, *, step: str) -> None:
        self.record(action, dict(details or {}), step=step)

    def step_services(self) -> StepServices:
        """Built once per run: every step of the incident works through the same ports."""
        if self._step_services is None:
            drill = getattr(self.incident, "kind", "incident") == "drill"
            self._step_services = self.services.step_services(drill=drill)
        return self._step_services


_current: ContextVar[Run | None] = ContextVar("runbook_run", default=None)


def current_run() -> Run:
    run = _current.get()
    if run is None:
        raise RuntimeError("engine tasks run only inside the respond flow")
    return run


def enter(run: Run) -> Token[Run | None]:
    return _current.set(run)


def leave(token: Token[Run | None]) -> None:
    _current.reset(token)


def run_scoped_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Cache key = flow run + what the call is for: a rerun of the same run finds its results, a
    new incident (new flow run) never does, and a code upgrade does not invalidate them."""
    return f"runbook-{context.task_run.flow_run_id}-{parameters['once']}"


TASK_OPTIONS: dict[str, Any] = {
    "persist_result": True,
    "cache_key_fn": run_scoped_key,
    "result_serializer": "json",
}
