"""Typed settings in groups (paths, database, Prefect, Slack, sign-offs, listening, worker,
channels), the only module that reads the environment: everything else asks a `Settings`.

Nothing is read at import time: an entry point calls `Settings()` once and passes it down.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from runbook.errors import ConfigurationError

__all__ = [
    "ChannelsSettings",
    "DatabaseSettings",
    "ListeningSettings",
    "PathSettings",
    "PrefectSettings",
    "Settings",
    "SignoffSettings",
    "SlackSettings",
    "WorkerSettings",
    "child_environment",
    "export_defaults",
    "read_secret",
]


T = TypeVar("T")


class _Group(BaseModel):
    """One group of settings. `ENV` names, per field, the variables it answers to (the first set
    one wins); an empty variable counts as unset. `SECRET` fields never appear in an error."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    ENV: ClassVar[dict[str, tuple[str, ...]]] = {}
    SECRET: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, object] | None = None,
        *,
        given_as: Mapping[str, str] | None = None,
    ) -> Self:
        """This group read from `environ` (default: the process environment); `overrides` (by
        field name, `given_as` how the caller named each) win over it. A bad value raises
        ConfigurationError naming its variable, or the override."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        source: dict[str, str] = {}
        for name, variables in cls.ENV.items():
            for variable in variables:
                if env.get(variable):
                    raw[name], source[name] = env[variable], variable
                    break
        for name, value in (overrides or {}).items():
            raw[name], source[name] = value, (given_as or {}).get(name, name)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise cls._error(exc, raw, source) from None

    @classmethod
    def _error(cls, exc: ValidationError, raw: Mapping[str, object], source: Mapping[str, str]) -> ConfigurationError:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            where = source.get(name) or cls.ENV.get(name, (name,))[0]
            got = "" if name in cls.SECRET or name not in raw else f" (got {raw[name]!r})"
            lines.append(f"{where}: {error['msg'].removeprefix('Value error, ')}{got}")
        return ConfigurationError("; ".join(lines))


class PathSettings(_Group):
    """Where local state, the roster, playbooks and templates are."""

    ENV = {
        "home": ("RUNBOOK_HOME",),
        "roster": ("RUNBOOK_ROSTER",),
        "playbooks_dir": ("RUNBOOK_PLAYBOOKS_DIR",),
        "templates_dir": ("RUNBOOK_TEMPLATES_DIR",),
    }

    home: Path = Field(default=Path(".runbook"), description="Folder for local state (SQLite file, logs)")
    roster: Path | None = Field(default=None, description="Roster file; default ./roster.yaml")
    playbooks_dir: Path = Field(default=Path("playbooks"))
    templates_dir: Path = Field(default=Path("templates"))

    @property
    def resolved_roster(self) -> Path:
        return self.roster or Path("roster.yaml")

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


class DatabaseSettings(_Group):
    """Our tables' database (SQLite or PostgreSQL)."""

    ENV = {"url": ("RUNBOOK_DATABASE_URL",)}
    SECRET = frozenset({"url"})  # a PostgreSQL URL may carry a password

    url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home")

    def resolved_url(self, home: Path) -> str:
        return self.url or f"sqlite:///{(home / 'runbook.db').resolve()}"


class PrefectSettings(_Group):
    """Prefect's own variables that the product reads (Prefect reads the rest itself). Read them
    with `PrefectSettings.from_env()` where they may have been exported since `Settings()`."""

    ENV = {
        "api_url": ("PREFECT_API_URL",),
        "ui_url": ("PREFECT_UI_URL",),
        "ui_api_url": ("PREFECT_UI_API_URL",),
        "home": ("PREFECT_HOME",),
    }

    api_url: str | None = Field(default=None, description="The Prefect server's API")
    ui_url: str | None = Field(default=None, description="Where people open the Prefect UI (links)")
    ui_api_url: str | None = Field(default=None, description="The API address the UI's browser app calls")
    home: Path | None = Field(default=None, description="Prefect's local state; default RUNBOOK_HOME/prefect")


class SlackSettings(_Group):
    """The Slack app (`runbook serve`). Secrets are SecretStr so no repr or log line shows them;
    each also answers to Slack's conventional variable name."""

    ENV = {
        "bot_token": ("RUNBOOK_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"),
        "signing_secret": ("RUNBOOK_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
        "app_token": ("RUNBOOK_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"),
        "api_url": ("RUNBOOK_SLACK_API_URL",),
        "audit_echo": ("RUNBOOK_SLACK_AUDIT_ECHO",),
    }
    SECRET = frozenset({"bot_token", "signing_secret", "app_token"})

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...)")
    signing_secret: SecretStr | None = Field(default=None, description="Verifies requests in HTTP mode")
    app_token: SecretStr | None = Field(default=None, description="App-level token (xapp-...) for Socket Mode")
    api_url: str | None = Field(
        default=None, description="Base URL of the Slack Web API (a proxy, or a fake in tests); default Slack's"
    )
    audit_echo: Literal["thread", "off"] = Field(
        default="thread", description="The audit trail's echo in a war room: a thread under the pinned status, or off"
    )


class SignoffSettings(_Group):
    """How sign-offs are trusted: the key sealing the engine's decisions, identities gates require."""

    ENV = {"decision_key": ("RUNBOOK_DECISION_KEY",), "require_identity": ("RUNBOOK_REQUIRE_IDENTITY",)}
    SECRET = frozenset({"decision_key"})

    decision_key: SecretStr | None = Field(
        default=None, description="Seals CLI/Slack decisions; default a random key in RUNBOOK_HOME/decision.key"
    )
    # Step id (or "*") -> identities its sign-offs need ("slack", "cli"), as JSON in
    # RUNBOOK_REQUIRE_IDENTITY; adds to the roster's require_identity (docs/security.md).
    require_identity: dict[str, list[Literal["slack", "cli"]]] = Field(
        default_factory=dict, description="Verified identities each gate requires"
    )

    @field_validator("require_identity", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f'not JSON ({exc.msg}), e.g. \'{{"statement": ["slack"]}}\'') from None
        return value


class ListeningSettings(_Group):
    """The listening configuration (`runbook monitor`, the monitor flow)."""

    FILE: ClassVar[str] = "listening.yaml"
    ENV = {"config": ("RUNBOOK_LISTENING",)}

    config: Path | None = Field(
        default=None, description="Listening file; default ./listening.yaml, then RUNBOOK_HOME/listening.yaml"
    )

    def find(self, home: Path) -> Path | None:
        """The file in use: the one set, else the first of ./listening.yaml and home/listening.yaml
        that exists, else None (watch every mention with the defaults)."""
        if self.config is not None:
            return self.config
        return next((p for p in (Path(self.FILE), home / self.FILE) if p.exists()), None)


class WorkerSettings(_Group):
    """`python -m flows.worker` (the process `runbook demo` starts); `runbook worker` takes options."""

    ENV = {
        "limit": ("RUNBOOK_WORKER_LIMIT",),
        "scheduler": ("RUNBOOK_WORKER_SCHEDULER",),
        "verbose": ("RUNBOOK_WORKER_VERBOSE",),
    }

    limit: int | None = Field(default=None, ge=1, description="Most flow runs at once (default: Prefect's)")
    scheduler: bool = Field(default=True, description="Host the post queue scheduler (0: run `runbook scheduler`)")
    verbose: bool = Field(default=False, description="Also log the scheduler's and HTTP client's routine lines")


class ChannelsSettings(_Group):
    """Brand accounts on real networks: the channels file, and the local Bluesky network's PDS."""

    ENV = {"file": ("RUNBOOK_CHANNELS",), "bluesky_pds": ("RUNBOOK_BLUESKY_PDS",)}

    file: Path | None = Field(
        default=None, description="Channels file; default ./channels.yaml when present, else the sandbox"
    )
    bluesky_pds: str | None = Field(default=None, description="`runbook demo --network bluesky`: the PDS URL")


class _Alias(Generic[T]):
    """A read-only flat name for one grouped setting: `settings.home` is `settings.paths.home`."""

    def __init__(self, group: str, name: str) -> None:
        self.group, self.name = group, name

    def __get__(self, settings: Settings, owner: type[Settings] | None = None) -> T:
        value: T = getattr(getattr(settings, self.group), self.name)
        return value


class Settings:
    """Every group, read once. `Settings(home=..., database_url=...)` overrides a setting by its
    variable's name without `RUNBOOK_` (tests and embedders); the rest comes from `environ`."""

    GROUPS: ClassVar[dict[str, type[_Group]]] = {
        "paths": PathSettings,
        "database": DatabaseSettings,
        "prefect": PrefectSettings,
        "slack": SlackSettings,
        "signoffs": SignoffSettings,
        "listening": ListeningSettings,
        "worker": WorkerSettings,
        "channels": ChannelsSettings,
    }

    paths: PathSettings
    database: DatabaseSettings
    prefect: PrefectSettings
    slack: SlackSettings
    signoffs: SignoffSettings
    listening: ListeningSettings
    worker: WorkerSettings
    channels: ChannelsSettings

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: Any) -> None:
        by_group, given_as = self._by_group(overrides, lambda key, field: f"Settings({key}=...)")
        for name, group_type in self.GROUPS.items():
            setattr(self, name, group_type.from_env(environ, by_group[name], given_as=given_as[name]))

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some settings changed, named as for the constructor (`slack_bot_token=`,
        `roster=`...); the groups not named are shared, the others validated again."""
        by_group, given_as = self._by_group(overrides, lambda key, field: f"replace({field}=...)")
        copy = object.__new__(Settings)
        for name, group_type in self.GROUPS.items():
            current = getattr(self, name)
            if by_group[name]:  # no environment: the current values, then the changes
                current = group_type.from_env({}, {**dict(current), **by_group[name]}, given_as=given_as[name])
            setattr(copy, name, current)
        return copy

    @classmethod
    def _by_group(
        cls, overrides: Mapping[str, Any], said: Callable[[str, str], str]
    ) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, str]]]:
        """Overrides by constructor name, sorted into their groups' fields, with how each was given."""
        by_group: dict[str, dict[str, object]] = {name: {} for name in cls.GROUPS}
        given_as: dict[str, dict[str, str]] = {name: {} for name in cls.GROUPS}
        for key, value in overrides.items():
            if key not in _OVERRIDES:
                raise TypeError(f"Settings has no setting {key!r} (known: {', '.join(sorted(_OVERRIDES))})")
            group, field = _OVERRIDES[key]
            by_group[group][field], given_as[group][field] = value, said(key, field)
        return by_group, given_as

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.GROUPS) + ")"

    @property
    def resolved_database_url(self) -> str:
        return self.database.resolved_url(self.paths.home)

    def listening_file(self) -> Path | None:
        return self.listening.find(self.paths.home)

    def child_env(self) -> dict[str, str]:
        """Variables that make a child process (a flow run, a worker) build these same paths and
        database, absolute, whatever its working directory."""
        env = {
            PathSettings.ENV[name][0]: str(Path(getattr(self.paths, name)).resolve())
            for name in ("home", "playbooks_dir", "templates_dir")
        }
        env[PathSettings.ENV["roster"][0]] = str(self.paths.resolved_roster.resolve())
        env[DatabaseSettings.ENV["url"][0]] = self.resolved_database_url
        return env

    # Flat names from before the groups, kept for the callers outside runbook/cli and flows
    # (engine, slack, steps, listen and their tests); new code reads the groups.
    home = _Alias[Path]("paths", "home")
    roster = _Alias[Path | None]("paths", "roster")
    resolved_roster = _Alias[Path]("paths", "resolved_roster")
    playbooks_dir = _Alias[Path]("paths", "playbooks_dir")
    templates_dir = _Alias[Path]("paths", "templates_dir")
    database_url = _Alias[str | None]("database", "url")
    slack_bot_token = _Alias[SecretStr | None]("slack", "bot_token")
    slack_signing_secret = _Alias[SecretStr | None]("slack", "signing_secret")
    slack_app_token = _Alias[SecretStr | None]("slack", "app_token")
    slack_api_url = _Alias[str | None]("slack", "api_url")
    slack_audit_echo = _Alias[Literal["thread", "off"]]("slack", "audit_echo")
    require_identity = _Alias[dict[str, list[Literal["slack", "cli"]]]]("signoffs", "require_identity")

    def ensure_home(self) -> Path:
        return self.paths.ensure_home()


# Settings(name=value): the name is the field's first variable without RUNBOOK_, lower-case
# (home, database_url, slack_bot_token, worker_limit, channels, prefect_api_url...).
_OVERRIDES: dict[str, tuple[str, str]] = {
    variables[0].removeprefix("RUNBOOK_").lower(): (group, field)
    for group, group_type in Settings.GROUPS.items()
    for field, variables in group_type.ENV.items()
}


def read_secret(
    *, env: str | None = None, file: Path | None = None, environ: Mapping[str, str] | None = None
) -> SecretStr:
    """A secret that a configuration file names (channels.yaml's token_env / token_file): the
    variable's value, or the file's first line. ConfigurationError in one line, never the secret."""
    if env:
        value = (os.environ if environ is None else environ).get(env)
        if not value:
            raise ConfigurationError(f"environment variable {env} is not set")
        return SecretStr(value.strip())
    if file is None:
        raise ConfigurationError("no secret named: give an environment variable or a file")
    try:
        text = file.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read secret file {file}: {exc.strerror or type(exc).__name__}") from None
    value = text.strip().splitlines()[0] if text.strip() else ""
    if not value:
        raise ConfigurationError(f"secret file {file} is empty")
    return SecretStr(value)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process (a Prefect server, a worker): this one's, plus `extra`."""
    return {**os.environ, **(extra or {})}


def export_defaults(values: Mapping[str, str]) -> None:
    """Set these variables in this process (for Prefect, read when it is imported) unless they are
    already set to something non-empty."""
    for name, value in values.items():
        if not os.environ.get(name):
            os.environ[name] = value
