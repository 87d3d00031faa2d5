"""Running one step's kind: render its parameters, call it, validate its outputs, audit it.
No Prefect: the flow's step task calls it, and so does `runbook start` for immediate steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from runbook.audit import AuditEvent
from runbook.engine.context import Run
from runbook.engine.record import Entry
from runbook.plan import StepPlan
from runbook.ports.chat import ConsoleChat
from runbook.spec.expressions import render_params


@contextmanager
def _chat_records(run: Run) -> Iterator[list[dict[str, Any]]]:
    """The console chat's `chat.posted` records of the step's posts, committed by `_end` with the
    step's last event: one write transaction instead of one more per message. Another chat (Slack)
    posts outside this process and keeps its own intent records; nothing is collected for it."""
    if not isinstance(run.chat, ConsoleChat):
        yield []
        return
    with run.chat.deferred() as pending:
        yield pending


def _end(run: Run, pending: list[dict[str, Any]], entry: Entry) -> AuditEvent:
    """Commit the step's collected chat records, then its end `entry`, in one transaction."""
    committed = run.record.commit([*(Entry("chat.posted", details) for details in pending), entry])
    pending.clear()  # written: `ConsoleChat.deferred` must not append them again
    return committed.events[-1]


def execute_step(
    run: Run,
    step: StepPlan,
    *,
    decision: dict[str, Any] | None,
    attempt: int = 1,
    last_attempt: bool = True,
    immediate: bool = False,
) -> dict[str, Any]:
    """Run one step's kind and audit it. Shared by the flow's step task and `runbook start`
    (immediate steps). A step the trail shows as finished is not run again: its outputs are
    read back, so a rerun after a crash between the side effect and the task's end repeats nothing.
    """
    once = f"{step.id}:finished"
    done = run.record.find_once(once, step=step.id)
    if done is not None:
        return dict((done.details or {}).get("outputs") or {})
    tag = {"immediate": True} if immediate else {}
    # apply_decision makes the same call: both pass their parameters through to _run_kind by name,
    # which holds the shared logic; what differs is `tag` and the `end` entry.
    return _run_kind(
        run,
        step,
        decision=decision,
        attempt=attempt,
        last_attempt=last_attempt,
        tag=tag,
        end=lambda outputs: Entry(
            "step.finished", {"attempt": attempt, "outputs": outputs, **tag}, step=step.id, once=once
        ),
    )


def apply_decision(
    run: Run, step: StepPlan, *, decision: dict[str, Any], review: int, attempt: int = 1, last_attempt: bool = True
) -> dict[str, Any]:
    """Call the kind again after its "after" gate was granted (`rerun_after_signoff`), with the
    decision; `run.steps[step.id]["outputs"]` holds what the approvers saw. Audited as
    `step.applied` under its own key per review round: done once, read back on a rerun."""
    once = f"{step.id}:applied:{review}"
    done = run.record.find_once(once, step=step.id)
    if done is not None:
        return dict((done.details or {}).get("outputs") or {})
    approvers = list(decision.get("approvers") or [])
    # The same call as execute_step's, on purpose: the shared logic is _run_kind, and these lines only pass
    # this function's own parameters through by name; only `tag` and `end` differ.
    return _run_kind(
        run,
        step,
        decision=decision,
        attempt=attempt,
        last_attempt=last_attempt,
        tag={"apply": review},
        end=lambda outputs: Entry(
            "step.applied",
            {"attempt": attempt, "review": review, "outputs": outputs, "approvers": approvers},
            step=step.id,
            once=once,
        ),
    )


def _run_kind(
    run: Run,
    step: StepPlan,
    *,
    decision: dict[str, Any] | None,
    attempt: int,
    last_attempt: bool,
    tag: dict[str, Any],
    end: Callable[[dict[str, Any]], Entry],
) -> dict[str, Any]:
    """One audited call of the step's kind: `step.started` commits before the kind runs (audit
    before effect); then the kind's console messages commit with `end(outputs)`, or with
    `step.failed` / `step.attempt_failed` when it raises. `tag`: details the start and the
    failure carry (an immediate step, an apply round)."""
    kind = run.services.kinds[step.uses]
    run.record("step.started", {"attempt": attempt, "uses": step.uses, "title": step.title, **tag}, step=step.id)
    with _chat_records(run) as posted:
        try:
            params = kind.params.model_validate(render_params(step.with_, run.expressions()))
            produced = kind.run(run.step_context(step, decision=decision), params)
            outputs = kind.outputs.model_validate(
                produced.model_dump() if hasattr(produced, "model_dump") else produced
            ).model_dump(mode="json")
        except Exception as exc:
            failed = {
                "attempt": attempt,
                "retries": step.retries,
                **tag,
                "error": f"{type(exc).__name__}: {exc}"[:2000],
            }
            _end(
                run,
                posted,
                Entry(
                    "step.failed" if last_attempt else "step.attempt_failed",
                    failed,
                    step=step.id,
                    once=f"{step.id}:failed" if last_attempt else None,
                ),
            )
            raise
        _end(run, posted, end(outputs))
    return outputs
