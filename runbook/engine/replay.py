"""Cheap replays: the respond flow reruns from the top after every resume, and each engine task it
already ran has a persisted result under a run-scoped key. `call` reads that result straight from
the result store and creates no task run, so a resumed run neither repeats nor redraws its past.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_MISSING = object()
# The task run name of the call being made: the engine's tasks read it (`task_run_name=run_name`),
# so one configured task serves every step with the same options instead of one copy per step
# (`Task.with_options` builds a new task, which costs about as much as a small step).
_name: ContextVar[str] = ContextVar("runbook_task_run_name", default="")
_configured: dict[tuple[Any, ...], Any] = {}
# The flow run whose replay frontier this execution has passed: the body is deterministic, so once
# one call finds no stored result, no later call of this execution has one (none ran before), and
# each look-up in the result storage would be a miss costing about as much as a small step. A
# wrong guess only costs a task run: Prefect's own cache (same key) still returns the result.
_frontier: ContextVar[str | None] = ContextVar("runbook_replay_frontier", default=None)


def run_name() -> str:
    """The engine tasks' `task_run_name`: the name `call` was given (a task called directly, not
    through `call`, is named by `with_options(task_run_name=...)` or else "engine-task")."""
    return _name.get() or "engine-task"


def stored(fn: Any, once: str) -> Any:
    """The persisted result of `fn`'s call for `once` in this flow run, else `_MISSING`."""
    from prefect.context import FlowRunContext
    from prefect.results import ResultStore, get_result_store

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return _MISSING
    run_id = str(ctx.flow_run.id)
    if _frontier.get() == run_id:
        return _MISSING
    # Same key as context.run_scoped_key gives the task's cache (and result file).
    key = f"runbook-{run_id}-{once}"
    try:
        store = get_result_store().update_for_task(fn)
        if not isinstance(store, ResultStore):  # a coroutine only when called inside an event loop
            return _MISSING
        record = store.read(key)
    except Exception:  # noqa: BLE001 - not there (not run yet, or storage not shared): run the task
        _frontier.set(run_id)
        return _MISSING
    return record.result


def new_execution() -> None:
    """At the top of the flow body: this execution replays from the start again."""
    _frontier.set(None)


def configured(fn: Any, options: dict[str, Any] | None) -> Any:
    """`fn` with `options`, built once per process for each distinct set of options."""
    if not options:
        return fn
    key = (fn, *sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    task = _configured.get(key)
    if task is None:
        task = _configured[key] = fn.with_options(**options)
    return task


def call(fn: Any, *, name: str, once: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Run the engine task `fn` as task run `name`, unless its result for `once` is stored."""
    found = stored(fn, once)
    if found is not _MISSING:
        return found
    token = _name.set(name)
    try:
        return configured(fn, options)(once=once, **kwargs)
    finally:
        _name.reset(token)
