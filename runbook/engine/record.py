"""The engine's audit writer: appends an incident's events with the Prefect flow and task run ids
in their details, and at most once per idempotency key (a rerun after a crash never doubles one).
"""

from __future__ import annotations

from typing import Any

from runbook.audit import AuditEvent, append, events


def prefect_ids() -> dict[str, str]:
    """The current flow run and task run ids, when called inside Prefect. Outside it (Prefect not
    even imported, e.g. `runbook start` running the freeze) nothing is imported: importing
    Prefect costs about a second."""
    import sys

    if "prefect" not in sys.modules:
        return {}
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover - prefect is a dependency
        return {}
    ids: dict[str, str] = {}
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        ids["flow_run_id"] = str(flow_ctx.flow_run.id)
    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        ids["task_run_id"] = str(task_ctx.task_run.id)
        ids.setdefault("flow_run_id", str(task_ctx.task_run.flow_run_id))
    return ids


class Recorder:
    """Appends events for one incident. `once` makes an append idempotent across processes."""

    def __init__(self, *, db: Any, incident_id: str):
        self.db = db
        self.incident_id = incident_id
        self._once: dict[str, AuditEvent] | None = None
        # A resumed run (runbook.engine.resume): the idempotency keys of the steps it runs again
        # get this suffix, so they run anew and record anew while the rest replays.
        self.fresh: frozenset[str] = frozenset()
        self.suffix = ""

    def key(self, once: str, step: str | None) -> str:
        return once + self.suffix if step is not None and step in self.fresh else once

    def _known(self) -> dict[str, AuditEvent]:
        if self._once is None:
            self._once = {}
            for event in events(self.db, self.incident_id):
                key = (event.details or {}).get("once")
                if key:
                    self._once[key] = event
        return self._once

    def find_once(self, once: str, *, step: str | None = None) -> AuditEvent | None:
        """The event appended under idempotency key `once`, if any (read once per recorder: one
        process at a time works on an incident, and it keeps the map current as it appends)."""
        return self._known().get(self.key(once, step))

    def __call__(
        self,
        action: str,
        details: dict[str, Any] | None = None,
        *,
        step: str | None = None,
        actor: str = "system",
        channel: str = "flow",
        once: str | None = None,
    ) -> AuditEvent:
        if once is not None:
            once = self.key(once, step)
        if once is not None and once in self._known():
            return self._known()[once]
        payload = dict(details or {})
        payload.update(prefect_ids())
        if once is not None:
            payload["once"] = once
        event = append(self.db, incident_id=self.incident_id, actor=actor, channel=channel, action=action,
                       step=step, details=payload)
        if once is not None:
            self._known()[once] = event
        return event
