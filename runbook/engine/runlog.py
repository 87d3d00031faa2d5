"""The incident's story in Prefect's Logs tab: every audit event the flow appends is also one line
through the run logger (`get_run_logger()`), so the UI tells what happened without the worker's stdout.
"""

from __future__ import annotations

import logging
from typing import Any

from runbook.audit import AuditEvent
from runbook.engine.record import Recorder

# What a line says after the action, from the event's details (first one present wins).
_NOTES = ("reason", "error", "title", "prompt", "outcome")


def run_logger() -> logging.Logger | logging.LoggerAdapter | None:
    """Prefect's run logger inside a flow or task run; None elsewhere (`runbook start`)."""
    import sys

    if "prefect" not in sys.modules:
        return None
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.logging import get_run_logger

    if TaskRunContext.get() is None and FlowRunContext.get() is None:
        return None
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - no run context after all
        return None


def story(event: Any) -> str:
    """One line for an audit event: `#seq action step by actor (channel): note`."""
    d = event.details or {}
    line = f"#{event.seq} {event.action}" + (f" [{event.step}]" if event.step else "")
    if event.actor != "system":
        line += f" by {event.actor}"
    if event.channel != "flow":
        line += f" via {event.channel}"
    if event.action == "signoff.approved" and d.get("approvals"):
        line += f": {len(d['approvals'])} of {d.get('quorum', 1)} approvals"
    else:
        note = next((str(d[k]) for k in _NOTES if d.get(k)), "")
        if note:
            line += f": {note[:300]}"
    return line


def level(action: str) -> int:
    if action.endswith(("failed", "refused", "rejected", "timed_out", "attempt_failed")):
        return logging.WARNING
    return logging.INFO


class LoggingRecorder(Recorder):
    """A Recorder that also tells the run logger about each event it appends (not the ones a rerun
    finds already recorded: the Logs tab of a resumed run shows what happened since)."""

    def appended(self, event: AuditEvent) -> None:
        if event.action == "chat.posted":
            return  # a console message's record (runbook.engine.execute): the message was printed itself
        logger = run_logger()
        if logger is not None:
            logger.log(level(event.action), story(event))
