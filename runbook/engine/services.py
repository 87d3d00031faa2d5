"""What a flow run, a command or the worker needs, built once from Settings: the database, the
roster, the step kinds, playbooks and the chat port. No Prefect here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.settings import Settings

# Settings that locate files are made absolute before a worker starts flow processes, so a
# child process resolves them the same way whatever its working directory.
PATH_SETTINGS = {"home": "RUNBOOK_HOME", "playbooks_dir": "RUNBOOK_PLAYBOOKS_DIR",
                 "templates_dir": "RUNBOOK_TEMPLATES_DIR"}


@dataclass
class Services:
    settings: Settings
    db: Any  # sqlalchemy Engine
    kinds: Mapping[str, Any]
    # Builds the chat port for one incident; the Slack adapter replaces the console default.
    chat_factory: Callable[..., Any] | None = None
    _roster_cache: tuple[float, Any] | None = field(default=None, repr=False)

    def roster(self):
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

    def playbook(self, ref: str):
        from runbook.spec import load_playbook

        templates = self.settings.templates_dir if self.settings.templates_dir.is_dir() else None
        return load_playbook(self.playbook_path(ref), kinds=self.kinds, roster=self.roster(), templates_dir=templates)

    def chat(self, incident_id: str):
        if self.chat_factory is not None:
            return self.chat_factory(services=self, incident_id=incident_id)
        from runbook.engine.record import prefect_ids
        from runbook.ports.chat import ConsoleChat

        return ConsoleChat(engine=self.db, incident_id=incident_id, annotate=prefect_ids)

    def step_services(self) -> dict[str, Any]:
        """What step kinds find in `StepContext.services`."""
        services = {"templates_dir": str(self.settings.templates_dir), "settings": self.settings, "db": self.db,
                    "roster": self.roster}
        # A channels file connects real accounts; without one the step kinds default to the sandbox.
        from runbook.channels.registry import configured

        config = configured(self.settings.channels.file)
        if config is not None:
            from runbook.channels.registry import ConfiguredChannels

            services["channel"] = ConfiguredChannels(config, engine=self.db)
        return services


def build_services(settings: Settings | None = None, *, migrate: bool = False) -> Services:
    from runbook.db import make_engine, open_db
    from runbook.steps.registry import load_kinds

    settings = settings or Settings()
    settings.ensure_home()  # local state (SQLite file, step kinds' files) lives there
    db = make_engine(settings.resolved_database_url)
    if migrate:  # a read-only check on PostgreSQL; only `runbook db upgrade` changes the schema
        open_db(db)
    return Services(settings=settings, db=db, kinds=load_kinds())


def absolute_settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process build the same Settings, with absolute paths."""
    env = {var: str(Path(getattr(settings, name)).resolve()) for name, var in PATH_SETTINGS.items()}
    env["RUNBOOK_DATABASE_URL"] = settings.resolved_database_url
    env["RUNBOOK_ROSTER"] = str(settings.resolved_roster.resolve())
    return env


def export_settings(settings: Settings) -> None:
    os.environ.update(absolute_settings_env(settings))
