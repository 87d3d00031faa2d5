"""What a flow run, a command or the worker needs, built once from Settings: the database, the
roster, the step kinds, playbooks, the chat port, and the `StepServices` every step kind gets (the
one place that chooses the social channel: configured accounts, the sandbox, or a drill's sandbox).
No Prefect here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.settings import Settings
from runbook.steps.base import StepServices

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.ports.channel import Channel
    from runbook.ports.chat import Chat
    from runbook.ports.remote_queue import RemoteQueue
    from runbook.spec.models import Playbook
    from runbook.spec.roster import Roster
    from runbook.steps.base import StepKind


@dataclass
class Services:
    settings: Settings
    db: Engine
    kinds: Mapping[str, StepKind]
    # Builds the chat port for one incident; the Slack adapter replaces the console default.
    chat_factory: Callable[..., Chat] | None = None
    _roster_cache: tuple[float, Roster] | None = field(default=None, repr=False)

    def roster(self) -> Roster:
        """The roster, reloaded when its file changes (authorisation uses the current roster)."""
        from runbook.spec import load_roster

        path = self.settings.resolved_roster
        mtime = path.stat().st_mtime
        if self._roster_cache is None or self._roster_cache[0] != mtime:
            self._roster_cache = (mtime, load_roster(path))
        return self._roster_cache[1]

    def playbook_path(self, ref: str) -> Path:
        from runbook.plan import find_playbook

        return find_playbook(self.settings.playbooks_dir, ref)

    def playbook(self, ref: str) -> Playbook:
        from runbook.spec import load_playbook

        templates = self.settings.templates_dir if self.settings.templates_dir.is_dir() else None
        return load_playbook(self.playbook_path(ref), kinds=self.kinds, roster=self.roster(), templates_dir=templates)

    def chat(self, incident_id: str) -> Chat:
        if self.chat_factory is not None:
            return self.chat_factory(services=self, incident_id=incident_id)
        from runbook.engine.record import prefect_ids
        from runbook.ports.chat import ConsoleChat

        return ConsoleChat(engine=self.db, incident_id=incident_id, annotate=prefect_ids)

    def step_services(self, *, drill: bool = False) -> StepServices:
        """What every step kind finds in `StepContext.services`. A drill never reaches a real network
        or a remote publishing queue: its steps get the sandbox, whatever channels are configured."""
        from runbook.queue.remote_config import configured_queues
        from runbook.sandbox import SandboxChannel

        if drill:
            channel: Channel = SandboxChannel(self.db)
            queues: list[RemoteQueue] = []
            problem: str | None = None
        else:
            channel = self.configured_channel()
            queues, problem = configured_queues(self.settings.channels.file)
        return StepServices(
            db=self.db,
            channel=channel,
            templates_dir=self.settings.templates_dir,
            settings=self.settings,
            roster=self.roster,
            artifacts=_artifacts_hook,
            remote_queues=tuple(queues),
            remote_problem=problem,
        )

    def configured_channel(self) -> Channel:
        """The channels file's accounts when there is one (RUNBOOK_CHANNELS, ./channels.yaml), else
        the sandbox network in our database."""
        from runbook.channels.registry import channel_for

        channel: Channel = channel_for(self.db, path=self.settings.channels.file)
        return channel


def _artifacts_hook(*, kind: str, key: str, data: Any, description: str | None = None) -> None:
    # Lazily: artifacts imports the run context (which imports this module) and, to send, Prefect.
    from runbook.engine.artifacts import hook

    hook(kind=kind, key=key, data=data, description=description)


def build_services(settings: Settings | None = None, *, migrate: bool = False) -> Services:
    from runbook.db import make_engine, open_db
    from runbook.steps.registry import load_kinds

    settings = settings or Settings()
    settings.ensure_home()  # local state (SQLite file, step kinds' files) lives there
    db = make_engine(settings.resolved_database_url)
    if migrate:  # a read-only check on PostgreSQL; only `runbook db upgrade` changes the schema
        open_db(db)
    return Services(settings=settings, db=db, kinds=load_kinds())


def export_settings(settings: Settings) -> None:
    os.environ.update(settings.child_env())
