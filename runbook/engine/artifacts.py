"""What the Prefect UI shows of an incident: a markdown artifact per step with its outcome and a
progress artifact for the whole playbook. Best effort and off the step's critical path: a
background publisher sends them (an artifact costs a server round trip of tens of ms), and the
flow flushes it before its process ends (at a suspend, or at the close).
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import re
import threading
import time
from typing import Any

from runbook.engine.context import Run

log = logging.getLogger(__name__)

_NOT_KEY = re.compile(r"[^a-z0-9-]+")
# Fast steps in a row would each cost an API call for a bar nobody can read that fast.
PROGRESS_EVERY = 2.0


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return _NOT_KEY.sub("-", "-".join(parts).lower()).strip("-")[:200]


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


# Keyword-only like decision_input's signature (a shape duplicates pairs): the parts of one step's
# artifact, named where publish_step passes them on, so outcome and detail cannot be swapped.
def step_markdown(
    run: Run,
    *,
    step_id: str,
    outcome: str,
    detail: str = "",
    outputs: dict[str, Any] | None = None,
    decision: dict[str, Any] | None = None,
) -> str:
    step = run.plan.step(step_id)
    lines = [
        f"### {step.title}",
        "",
        f"**{outcome}** · step `{step.id}` ({step.uses}) · incident `{run.incident.slug}`",
    ]
    if detail:
        lines += ["", detail]
    for title, data in (("Outputs", outputs), ("Sign-off fields", decision)):
        if data:
            # Texts (a statement, a reply) are shown in full below the table, never cut.
            texts = {k: v for k, v in data.items() if isinstance(v, str) and (len(v) > 120 or "\n" in v)}
            lines += ["", f"**{title}**", "", "| name | value |", "|---|---|"]
            lines += [f"| {k} | {'(in full below)' if k in texts else _value(v)} |" for k, v in data.items()]
            for k, v in texts.items():
                lines += ["", f"**{k}**", ""] + [f"> {line}" if line.strip() else ">" for line in v.splitlines()]
    return "\n".join(lines)


class _Publisher:
    """One thread per flow process sending artifact requests in order, with its own client."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, request: Any) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # The copied context carries this process's Prefect settings (the API URL).
                context = contextvars.copy_context()
                self._thread = threading.Thread(
                    target=context.run, args=(self._loop,), name="runbook-artifacts", daemon=True
                )
                self._thread.start()
        self._queue.put(request)

    def _loop(self) -> None:
        from prefect.client.orchestration import get_client

        # Distinct httpx settings: a client of our own, not the engine's (another thread uses it).
        with get_client(sync_client=True, httpx_settings={"timeout": 30.0}) as client:
            while True:
                request = self._queue.get()
                try:
                    client.create_artifact(artifact=request)
                except Exception:  # noqa: BLE001 - the UI view is not worth failing anything for
                    log.warning("could not publish artifact %s", getattr(request, "key", ""), exc_info=True)
                finally:
                    self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)


_publisher = _Publisher()


def flush(timeout: float = 10.0) -> None:
    _publisher.flush(timeout)


def _submit(*, kind: str, key: str, description: str, data: Any) -> None:
    if not in_flow_run():  # nothing to attach it to, and a client would start a temporary server
        return
    try:
        from prefect.client.schemas.actions import ArtifactCreate
        from prefect.context import FlowRunContext, TaskRunContext

        task_ctx = TaskRunContext.get()
        flow_ctx = FlowRunContext.get()
        _publisher.submit(
            ArtifactCreate(
                type=kind,
                key=key,
                description=description,
                data=data,
                task_run_id=task_ctx.task_run.id if task_ctx else None,
                flow_run_id=(
                    task_ctx.task_run.flow_run_id
                    if task_ctx
                    else flow_ctx.flow_run.id
                    if flow_ctx and flow_ctx.flow_run
                    else None
                ),
            )
        )
    except Exception:  # noqa: BLE001
        log.warning("could not queue artifact %s", key, exc_info=True)


def hook(*, kind: str, key: str, data: Any, description: str | None = None) -> None:
    """What step kinds get as `ctx.services.artifacts` (they must not import Prefect):
    markdown (text), table (a list of rows) or progress (a number), attached to the current task run.
    Outside a Prefect flow run (an immediate step at `runbook start`, a test calling a kind) it does
    nothing: a Prefect client there would start a temporary server."""
    if kind == "table" and not isinstance(data, str):
        data = json.dumps(data, default=str)
    elif kind == "markdown":
        data = str(data)
    _submit(kind=kind, key=artifact_key(key), description=description or "", data=data)


def in_flow_run() -> bool:
    import sys

    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    flow_ctx = FlowRunContext.get()
    return TaskRunContext.get() is not None or (flow_ctx is not None and flow_ctx.flow_run is not None)


def publish_step(run: Run, *, step_id: str, outcome: str, **kwargs: Any) -> None:
    _submit(
        kind="markdown",
        key=artifact_key(run.incident.slug, step_id),
        description=f"{step_id}: {outcome}",
        data=step_markdown(run, step_id=step_id, outcome=outcome, **kwargs),
    )


def publish_progress(run: Run, *, current: str | None = None, note: str = "", force: bool = False) -> None:
    """A new version of the incident's progress artifact; throttled unless `force` (gates, close)."""
    now = time.monotonic()
    if not force and now - run.progress_at < PROGRESS_EVERY:
        return
    run.progress_at = now
    done = sum(1 for s in run.plan.steps if s.id in run.steps)
    total = len(run.plan.steps) or 1
    where = f"; step {current}" if current else ""
    _submit(
        kind="progress",
        key=artifact_key(run.incident.slug, "progress"),
        description=f"{run.plan.title}: {done}/{total} steps done{where}" + (f"; {note}" if note else ""),
        data=round(100.0 * done / total, 1),
    )
