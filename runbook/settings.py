"""Typed settings (prefix RUNBOOK_), built once per entry point and passed down.

Nothing reads the environment at import time: call `Settings()` in an entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNBOOK_", extra="ignore")

    home: Path = Field(default=Path(".runbook"), description="Folder for local state (SQLite file, logs)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home")
    roster: Path | None = Field(default=None, description="Roster file; default ./roster.yaml")
    playbooks_dir: Path = Field(default=Path("playbooks"))
    templates_dir: Path = Field(default=Path("templates"))
    channels: Path | None = Field(default=None, description="Channels file (accounts, networks); default "
                                                             "./channels.yaml when present, else the sandbox")

    # Slack (runbook serve). Secrets are SecretStr so no repr or log line shows them; each also
    # answers to Slack's conventional variable name.
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("RUNBOOK_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN", "slack_bot_token"),
        description="Bot token (xoxb-...)")
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RUNBOOK_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET", "slack_signing_secret"),
        description="Signing secret: verifies requests in HTTP mode")
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("RUNBOOK_SLACK_APP_TOKEN", "SLACK_APP_TOKEN", "slack_app_token"),
        description="App-level token (xapp-...) for Socket Mode")
    slack_api_url: str | None = Field(
        default=None, description="Base URL of the Slack Web API (a proxy, or a fake in tests); default Slack's")
    # Step id (or "*") -> identities its sign-offs need ("slack", "cli"), as JSON in
    # RUNBOOK_REQUIRE_IDENTITY; adds to the roster's require_identity (docs/security.md).
    require_identity: dict[str, list[Literal["slack", "cli"]]] = Field(
        default_factory=dict, description="Verified identities each gate requires")
    slack_audit_echo: Literal["thread", "off"] = Field(
        default="thread", description="The audit trail's echo in a war room: a thread under the pinned status, or off")

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
