"""The engine's audit writer: appends an incident's events with the Prefect flow and task run ids
in their details, at most once per idempotency key (a rerun after a crash never doubles one), and
in the same transaction as the incident's status change they record (audit before effect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbook.audit import AuditCheckpoint, AuditEvent, append_in, events, record_checkpoint, update_incident_in
from runbook.db import write_transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


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


def stamped(details: dict[str, Any] | None, once: str | None = None) -> dict[str, Any]:
    """An event's details as the engine records them: with the Prefect run ids, and the idempotency
    key `once` (what `Recorder.find_once` looks up) when given."""
    payload = dict(details or {})
    payload.update(prefect_ids())
    if once is not None:
        payload["once"] = once
    return payload


@dataclass(frozen=True)
class Entry:
    """One event to append; `once` is its idempotency key (see `Recorder.key`)."""

    action: str
    details: dict[str, Any] | None = None
    step: str | None = None
    actor: str = "system"
    channel: str = "flow"
    once: str | None = None


@dataclass(frozen=True)
class Committed:
    """What `Recorder.commit` wrote (or found written): the entries' events in order, whether any
    was new (then the status change and checkpoint were made with them), and the checkpoint."""

    events: list[AuditEvent]
    fresh: bool
    checkpoint: AuditCheckpoint | None = None


class Recorder:
    """Appends events for one incident. `once` makes an append idempotent across processes."""

    def __init__(self, *, db: Engine, incident_id: str):
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
        return self.commit([Entry(action, details, step, actor, channel, once)]).events[0]

    def change(
        self,
        action: str,
        details: dict[str, Any] | None = None,
        *,
        status: str,
        step: str | None = None,
        actor: str = "system",
        channel: str = "flow",
        once: str | None = None,
    ) -> AuditEvent:
        """Append the event and move the incident to `status` in one transaction: both or neither.
        With `once` already recorded, nothing is written (its status change committed with it)."""
        return self.commit([Entry(action, details, step, actor, channel, once)], status=status).events[0]

    def commit(
        self, entries: Sequence[Entry], *, status: str | None = None, checkpoint: str | None = None
    ) -> Committed:
        """Append `entries` in order in ONE write transaction, with the incident's status change and
        a checkpoint of the new head (its reason) when given. Entries already recorded under their
        `once` key are not appended again; when every entry is, nothing at all is written: a rerun
        after a crash finds the whole change done or none of it."""
        keyed = [(entry, self.key(entry.once, entry.step) if entry.once is not None else None) for entry in entries]
        # The trail is read (once) only when a key must be checked: a plain append needs no look-up.
        known = self._known() if any(once is not None for _, once in keyed) else {}
        todo = [(n, entry, once) for n, (entry, once) in enumerate(keyed) if once is None or once not in known]
        if not todo:
            return Committed(events=[known[once] for _, once in keyed if once is not None], fresh=False)
        rows = [(entry, stamped(entry.details, once)) for _, entry, once in todo]

        def work(connection: Connection) -> tuple[list[AuditEvent], AuditCheckpoint | None]:
            # Entry's fields handed to append_in by name (other packages' audit appends share the layout): an
            # Entry also carries `once`, already stamped into the details above, so it cannot be splatted.
            appended = [
                append_in(
                    connection,
                    incident_id=self.incident_id,
                    actor=entry.actor,
                    channel=entry.channel,
                    action=entry.action,
                    step=entry.step,
                    details=payload,
                )
                for entry, payload in rows
            ]
            if status is not None:  # after its events: a close then checkpoints a head that holds them
                update_incident_in(connection, self.incident_id, status=status)
            mark = record_checkpoint(connection, self.incident_id, reason=checkpoint) if checkpoint else None
            return appended, mark

        appended, mark = write_transaction(self.db, work)
        out: list[AuditEvent | None] = [known.get(once) if once is not None else None for _, once in keyed]
        for (n, _, once), event in zip(todo, appended, strict=True):
            out[n] = event
            if once is not None:
                self._known()[once] = event
        for event in appended:
            self.appended(event)
        return Committed(events=[e for e in out if e is not None], fresh=True, checkpoint=mark)

    def appended(self, event: AuditEvent) -> None:
        """Called once per newly committed event (the run logger's hook, runbook.engine.runlog)."""
