"""The channels configuration file (channels.yaml): brands, network connections (channels), the
brand accounts on them, and remote publishing queues. Secrets are named, never written: each comes
from an environment variable (`token_env`) or a file (`token_file`), read only when needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from runbook.errors import ConfigurationError
from runbook.settings import read_secret
from runbook.spec.errors import SpecError, SpecIssue

__all__ = [
    "AccountConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "ConfigError",
    "RemoteQueueConfig",
    "SecretRef",
    "channels_schema",
    "default_path",
    "load_channels_config",
    "parse_channels_config",
]

NETWORKS = ("sandbox", "bluesky", "mastodon", "x", "facebook", "instagram")
ID = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="lower-case id: letters, digits, - or _")]
# Keys that look like a secret written into the file: refused with a pointer to *_env / *_file.
SECRET_WORDS = re.compile(r"(^|_)(token|password|secret|key|app_password|access_token)$")
DEFAULT_FILE = "channels.yaml"


class ConfigError(ConfigurationError, ValueError):
    """A secret that cannot be read, or an unknown account: one line, never the secret itself."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretRef(_Strict):
    """Where one secret lives: an environment variable or a file (its first line)."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def where(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def resolve(self, environ: dict[str, str] | None = None) -> SecretStr:
        try:
            return read_secret(env=self.env, file=self.file, environ=environ)
        except ConfigurationError as exc:
            raise ConfigError(str(exc)) from None


class Brand(_Strict):
    name: str = Field(description="The brand's display name")
    language: str = "en"


class Tuning(_Strict):
    """The good-citizen policy (runbook.channels.resilience.Policy), per channel or account."""

    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    budget: Annotated[float, Field(gt=0, le=3600)] = 60.0
    attempts: Annotated[int, Field(ge=1, le=10)] = 4
    breaker_failures: Annotated[int, Field(ge=1, le=100)] = 5
    breaker_reset: Annotated[float, Field(gt=0, le=3600)] = 30.0


class ChannelConfig(_Strict):
    """One network connection: which platform, where its API is."""

    platform: Literal["sandbox", "bluesky", "mastodon", "x", "facebook", "instagram"]
    service: str | None = Field(
        default=None,
        description="API base URL: the PDS (Bluesky), the instance (Mastodon), the Graph API or X API base",
    )
    appview: str | None = Field(
        default=None, description="Bluesky AppView URL for reads the PDS proxies (notifications)"
    )
    tuning: Tuning = Field(default_factory=Tuning)
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)


class _SecretHolder(_Strict):
    """What holds secrets: an account or a remote queue. Its token is token_env, token_file or
    secrets.token; other secrets (X: api_key...) are named under secrets."""

    token_env: str | None = None
    token_file: Path | None = None
    secrets: dict[str, SecretRef] = Field(default_factory=dict)

    def token_ref(self) -> SecretRef | None:
        if self.token_env:
            return SecretRef(env=self.token_env)
        if self.token_file:
            return SecretRef(file=self.token_file)
        return self.secrets.get("token")

    def secret(self, name: str = "token", environ: dict[str, str] | None = None) -> SecretStr:
        ref = self.token_ref() if name == "token" else self.secrets.get(name)
        if ref is None:
            raise ConfigError(f"no {name} configured (token_env, token_file or secrets.{name})")
        return ref.resolve(environ)


class AccountConfig(_SecretHolder):
    """One brand account on one channel; steps name it by its id."""

    brand: str
    channel: str
    handle: str = Field(description="The account's handle or id on the network")
    token_env: str | None = Field(default=None, description="Environment variable holding the token or app password")
    token_file: Path | None = Field(default=None, description="File holding the token or app password")
    secrets: dict[str, SecretRef] = Field(default_factory=dict, description="More named secrets (X: api_key...)")
    rate_limit: str | None = Field(default=None, description="Our own ceiling for this account: N/period, e.g. 300/5m")
    tuning: Tuning | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _token(self) -> AccountConfig:
        if self.token_env and self.token_file:
            raise ValueError("give token_env or token_file, not both")
        if self.rate_limit is not None:
            from runbook.messaging.sending import RateLimit

            RateLimit.parse(self.rate_limit)
        return self


class RemoteQueueConfig(_SecretHolder):
    """A publishing queue outside the product (Meta scheduled posts, Buffer, Hootsuite)."""

    kind: str = Field(description="meta | buffer | hootsuite (adapters in runbook.channels)")
    brand: str
    account: str | None = Field(default=None, description="The account whose posts it schedules")
    service: str | None = None
    tuning: Tuning | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)


class ChannelsConfig(_Strict):
    version: Literal[1] = 1
    brands: dict[ID, Brand] = Field(default_factory=dict)
    channels: dict[ID, ChannelConfig] = Field(default_factory=dict)
    accounts: dict[ID, AccountConfig] = Field(default_factory=dict)
    remote_queues: dict[ID, RemoteQueueConfig] = Field(default_factory=dict)
    file: str | None = Field(default=None, exclude=True, description="where it was read from (not in the file)")

    def account(self, account_id: str) -> AccountConfig:
        try:
            return self.accounts[account_id]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise ConfigError(f"unknown account '{account_id}' (known: {known})") from None

    def channel_of(self, account_id: str) -> ChannelConfig:
        return self.channels[self.account(account_id).channel]

    def tuning_of(self, account_id: str) -> Tuning:
        account = self.account(account_id)
        return account.tuning or self.channels[account.channel].tuning

    def holders(self) -> list[_SecretHolder]:
        return [*self.accounts.values(), *self.remote_queues.values()]

    def secret_refs(self) -> list[SecretRef]:
        """Every secret the file names (for `channels check` and the no-leak tests)."""
        out: list[SecretRef] = []
        for holder in self.holders():
            if holder.token_env:
                out.append(SecretRef(env=holder.token_env))
            if holder.token_file:
                out.append(SecretRef(file=holder.token_file))
            out.extend(holder.secrets.values())
        return out


def _cross_checks(doc: Any, config: ChannelsConfig) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    for account_id, account in config.accounts.items():
        if account.brand not in config.brands:
            out.append(
                doc.issue(
                    ("accounts", account_id, "brand"), f"unknown brand '{account.brand}'; declare it under brands:"
                )
            )
        if account.channel not in config.channels:
            out.append(
                doc.issue(
                    ("accounts", account_id, "channel"),
                    f"unknown channel '{account.channel}'; declare it under channels:",
                )
            )
    for queue_id, queue in config.remote_queues.items():
        if queue.brand not in config.brands:
            out.append(doc.issue(("remote_queues", queue_id, "brand"), f"unknown brand '{queue.brand}'"))
        if queue.account is not None and queue.account not in config.accounts:
            out.append(doc.issue(("remote_queues", queue_id, "account"), f"unknown account '{queue.account}'"))
    for channel_id, channel in config.channels.items():
        if channel.platform not in ("sandbox",) and not channel.service and channel.platform in ("bluesky", "mastodon"):
            out.append(doc.issue(("channels", channel_id, "service"), f"{channel.platform} needs service: (its URL)"))
    return out


def _without_inline_secrets(doc: Any, data: Any, loc: tuple[Any, ...], issues: list[SpecIssue]) -> Any:
    """The data with secret-looking keys (token:, password:...) taken out, each reported at its key."""
    if isinstance(data, list):
        return [_without_inline_secrets(doc, v, loc + (n,), issues) for n, v in enumerate(data)]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if isinstance(key, str) and SECRET_WORDS.search(key) and not key.endswith(("_env", "_file")):
            issues.append(
                doc.issue(
                    loc + (key,),
                    f"'{key}' looks like a secret written into the config; name "
                    f"where it lives instead: {key}_env: VARIABLE or {key}_file: /path",
                    at_key=True,
                )
            )
            continue
        out[key] = _without_inline_secrets(doc, value, loc + (key,), issues)
    return out


def parse_channels_config(raw: bytes, name: str) -> ChannelsConfig:
    """Validate a channels file's bytes; SpecError lists every problem as file:line:col."""
    from runbook.spec.checks import pydantic_issues
    from runbook.spec.source import parse_document

    doc = parse_document(raw, name)
    issues = list(doc.issues)
    config = None
    data = _without_inline_secrets(doc, doc.data, (), issues)
    try:
        config = ChannelsConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(doc, exc, model=ChannelsConfig))
    if config is not None:
        issues.extend(_cross_checks(doc, config))
    if issues:
        raise SpecError(issues)
    assert config is not None
    return config.model_copy(update={"file": name})


def load_channels_config(path: str | Path) -> ChannelsConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([SpecIssue(str(path), 1, 1, "", f"cannot read file: {exc.strerror or exc}")]) from None
    config = parse_channels_config(raw, str(path))
    base = path.parent
    # Relative secret files are relative to the config file, not to wherever the command runs.
    for holder in config.holders():
        if holder.token_file is not None and not holder.token_file.is_absolute():
            holder.token_file = base / holder.token_file
        for ref in holder.secrets.values():
            if ref.file is not None and not ref.file.is_absolute():
                ref.file = base / ref.file
    return config


def default_path(explicit: str | Path | None = None) -> Path | None:
    """The channels file in use: the one given (RUNBOOK_CHANNELS), else ./channels.yaml when it
    exists, else None (the sandbox)."""
    if explicit and str(explicit) not in ("", "."):  # RUNBOOK_CHANNELS= (empty) means unset
        return Path(explicit)
    candidate = Path(DEFAULT_FILE)
    return candidate if candidate.is_file() else None


def channels_schema() -> dict[str, Any]:
    schema = ChannelsConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Runbook channels configuration"
    schema.get("properties", {}).pop("file", None)
    return schema
