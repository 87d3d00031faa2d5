"""Typed settings (prefix RUNBOOK_), built once per entry point and passed down.

Nothing reads the environment at import time: call `Settings()` in an entry point.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNBOOK_", extra="ignore")

    home: Path = Field(default=Path(".runbook"), description="Folder for local state (SQLite file, logs)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home")
    roster: Path | None = Field(default=None, description="Roster file; default ./roster.yaml")
    playbooks_dir: Path = Field(default=Path("playbooks"))
    templates_dir: Path = Field(default=Path("templates"))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'runbook.db').resolve()}"

    @property
    def resolved_roster(self) -> Path:
        return self.roster or Path("roster.yaml")

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
