"""The Chat port: how the product talks to the incident channel (messages, sign-off requests).

`ConsoleChat` is the embedded default: it prints to the console and records each message once,
by its idempotency key, in the audit trail (or in memory when it has no database), so a retried
task or a restarted worker never posts the same message twice. Inside `deferred()` those records
are handed to the caller, which commits them with its own event (a step's end) in one transaction.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol, runtime_checkable

__all__ = ["Chat", "ConsoleChat", "SignoffRequest"]


@dataclass(frozen=True)
class SignoffRequest:
    """What a sign-off asks of people; a Slack adapter renders it with buttons."""

    incident_id: str
    incident_slug: str
    step_id: str
    title: str
    prompt: str
    signers: list[str]
    quorum: int = 1
    approvals: list[str] = field(default_factory=list)
    deadline: datetime | None = None
    escalated: bool = False
    fields: dict[str, str] = field(default_factory=dict)  # name -> title of the extra fields asked

    def text(self) -> str:
        head = "ESCALATED sign-off" if self.escalated else "Sign-off needed"
        lines = [f"{head} for {self.incident_slug} / {self.step_id}: {self.title}", self.prompt]
        need = self.quorum - len(self.approvals)
        lines.append(
            f"may sign: {', '.join(self.signers) or 'nobody'}"
            + (f" ({need} more approval{'s' if need != 1 else ''} needed)" if self.quorum > 1 else "")
        )
        if self.deadline is not None:
            lines.append(f"deadline: {self.deadline.strftime('%Y-%m-%d %H:%M:%S %Z')}")
        if self.fields:
            lines.append("fields: " + ", ".join(f"{k} ({v})" for k, v in self.fields.items()))
        lines.append(f"answer: runbook approve {self.incident_slug} {self.step_id} --as PERSON [--reject]")
        return "\n".join(lines)


@runtime_checkable
class Chat(Protocol):
    def post(self, channel: str | None, text: str, *, key: str) -> str:
        """Post `text` once per `key` (a repeat returns the first message's reference)."""
        ...

    def request_signoff(self, channel: str | None, request: SignoffRequest, *, key: str) -> str:
        """Ask for a sign-off once per `key`."""
        ...


class ConsoleChat:
    """Prints to a stream; records messages by key in the audit trail of `incident_id`.

    Without `engine` the record is in memory (one process), enough for previews and tests.
    """

    def __init__(
        self,
        *,
        engine: Any = None,
        incident_id: str | None = None,
        out: IO[str] | None = None,
        annotate: Callable[[], dict[str, Any]] | None = None,
    ):
        self._engine = engine
        self._incident_id = incident_id
        self._out = out
        self._annotate = annotate  # extra audit details, e.g. the Prefect run ids of the poster
        self._seen: dict[str, str] = {}
        self._loaded = False
        self._lock = threading.Lock()
        self._local = threading.local()  # .pending: the deferred records of this thread, if deferring

    def post(self, channel: str | None, text: str, *, key: str) -> str:
        return self._once(channel=channel, text=text, key=key, kind="message")

    def request_signoff(self, channel: str | None, request: SignoffRequest, *, key: str) -> str:
        return self._once(channel=channel, text=request.text(), key=key, kind="signoff_request")

    def _once(self, *, channel: str | None, text: str, key: str, kind: str) -> str:
        if not key:
            raise ValueError("a chat message needs an idempotency key")
        with self._lock:
            ref = self._lookup(key)
            if ref is not None:
                return ref
            ref = f"console:{key}"
            out = self._out or sys.stdout
            where = f"#{channel}" if channel else "#incident"
            for n, line in enumerate(text.splitlines() or [""]):
                print(f"[chat {where}] {line}" if n == 0 else f"[chat {where}]   {line}", file=out)
            out.flush()
            self._record(key=key, channel=channel, text=text, kind=kind)
            self._seen[key] = ref
            return ref

    def _lookup(self, key: str) -> str | None:
        if not self._loaded and self._engine is not None and self._incident_id is not None:
            # What earlier processes posted for this incident (a rerun after a resume or a crash),
            # read once; this instance records its own posts as it makes them.
            from runbook.audit import events

            for event in events(self._engine, self._incident_id):
                if event.action == "chat.posted" and (event.details or {}).get("key"):
                    self._seen.setdefault(event.details["key"], f"console:{event.details['key']}")
        self._loaded = True
        return self._seen.get(key)

    @contextmanager
    def deferred(self) -> Iterator[list[dict[str, Any]]]:
        """Collect the `chat.posted` records (their details) of this thread's posts in the yielded
        list instead of appending each in a transaction of its own: the caller takes them and
        commits them with its own event, e.g. a step's `step.finished` or `step.failed` (a console
        print has no effect outside this process, so its record may wait for the step's end; the
        in-memory key already stops a retry in this process from printing again). Records the
        caller left in the list are appended on the way out, whatever happened."""
        if getattr(self._local, "pending", None) is not None:
            raise RuntimeError("ConsoleChat.deferred() is already active in this thread")
        pending: list[dict[str, Any]] = []
        self._local.pending = pending
        try:
            yield pending
        finally:
            self._local.pending = None
            for details in pending:
                self._append(details)
            pending.clear()

    def _record(self, *, key: str, channel: str | None, text: str, kind: str) -> None:
        if self._engine is None or self._incident_id is None:
            return
        details = {"key": key, "channel": channel, "kind": kind, "text": text[:4000]}
        if self._annotate is not None:
            details.update(self._annotate())
        pending = getattr(self._local, "pending", None)
        if pending is not None:
            pending.append(details)
        else:
            self._append(details)

    def _append(self, details: dict[str, Any]) -> None:
        from runbook.audit import append

        if self._engine is None or self._incident_id is None:
            return
        # The chat.posted event, keyword by keyword like the engine's flow.start_failed append (commands.py):
        # two events of their own; a helper over audit.append would only rename its keywords.
        append(
            self._engine,
            incident_id=self._incident_id,
            actor="system",
            channel="flow",
            action="chat.posted",
            details=details,
        )
