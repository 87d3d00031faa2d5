"""The listening configuration (`listening.yaml`): brands and their accounts, spike rules, where
alerts go, which playbook an alert offers or starts, and which channels are ingested.

Without a file, every brand account of the sandbox network is a brand of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from runbook.errors import ConfigurationError
from runbook.listen.spikes import SpikeRule
from runbook.spec.durations import Duration, parse_duration

__all__ = [
    "AccountRef",
    "AlertRule",
    "Brand",
    "ConfigError",
    "ListeningConfig",
    "Source",
    "default_config",
    "load_config",
]

Handle = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


class ConfigError(ConfigurationError, ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountRef(_Strict):
    platform: str | None = None  # None: this handle on every platform
    handle: Handle


class Brand(_Strict):
    id: Ident
    accounts: Annotated[list[AccountRef], Field(min_length=1)]
    # The spike rule (runbook.listen.spikes.SpikeRule; docs/listening.md explains each).
    window: Duration = parse_duration("1h")
    baseline: Duration = parse_duration("28d")
    recent_days: Annotated[int, Field(ge=1, le=60)] = 7
    k: Annotated[float, Field(gt=0, le=20)] = 3.0
    min_ratio: Annotated[float, Field(ge=1, le=100)] = 1.5
    k_low: Annotated[float, Field(ge=0, le=20)] = 1.0
    min_volume: Annotated[int, Field(ge=1)] = 30
    min_negative: Annotated[int, Field(ge=1)] = 15
    negative_rise: Annotated[float, Field(ge=0, le=1)] = 0.15
    warmup: Duration = parse_duration("3d")
    min_samples: Annotated[int, Field(ge=1, le=100)] = 3
    warmup_volume: Annotated[int, Field(ge=1)] = 300
    profile: Literal["auto", "hour_of_day", "hour_of_week"] = "auto"
    weekly_after: Annotated[int, Field(ge=1, le=52)] = 3
    sustained_window: Duration = parse_duration("6h")
    sustained_ratio: Annotated[float, Field(ge=1, le=100)] = 2.0
    # Hysteresis and reminders (None: the file-wide values).
    resolve_after: Duration | None = None  # below the lower threshold this long: the alert closes
    renotify_after: Duration | None = None  # an open alert spiking again after this long is announced again

    def rule(self) -> SpikeRule:
        try:
            # Field by field into the dataclass SpikeRule (the spike check's own type, no pydantic): the brand's
            # config has more fields (id, accounts, resolve_after, ...), so a model_dump splat would need an
            # include list to keep in step by hand; named keywords are checked by mypy instead.
            return SpikeRule(
                window=self.window,
                baseline=self.baseline,
                k=self.k,
                min_ratio=self.min_ratio,
                k_low=self.k_low,
                min_volume=self.min_volume,
                min_negative=self.min_negative,
                negative_rise=self.negative_rise,
                warmup=self.warmup,
                min_samples=self.min_samples,
                recent_days=self.recent_days,
                warmup_volume=self.warmup_volume,
                profile=self.profile,
                weekly_after=self.weekly_after,
                sustained_window=self.sustained_window,
                sustained_ratio=self.sustained_ratio,
            )
        except ValueError as exc:
            raise ConfigError(f"brand {self.id}: {exc}") from None

    def pairs(self) -> list[tuple[str | None, str]]:
        return [(a.platform, a.handle.lstrip("@")) for a in self.accounts]


class AlertRule(_Strict):
    """What an alert for these brands offers (a one-click start) or does (auto_start)."""

    brands: list[Ident] | None = None  # None: every brand
    playbook: Ident | None = "social-media-mistake"
    auto_start: bool = False
    requester: str | None = None  # a roster person allowed to start incidents (needed for auto_start)
    inputs: dict[str, Any] = {}  # extra playbook inputs; summary is filled from the alert
    reasons: list[Literal["volume", "negative", "sustained"]] = [
        "volume",
        "negative",
        "sustained",
    ]  # which spikes it answers


class Source(_Strict):
    name: Ident = "sandbox"
    kind: Literal["sandbox", "channels"] = "sandbox"  # channels: the accounts of channels.yaml (real networks)
    page_size: Annotated[int, Field(ge=1, le=5000)] = 500


class ListeningConfig(_Strict):
    brands: list[Brand] = []
    sources: list[Source] = [Source()]
    alerts_channel: str | None = None  # chat channel of alerts (a Slack channel id); None: the console
    rules: list[AlertRule] = [AlertRule()]
    resolve_after: Duration = parse_duration("2h")  # below the lower threshold this long: the alert closes
    renotify_after: Duration = parse_duration("20h")  # an open alert spiking again a day later is announced
    # Authors (handles) and link domains that are media: "press" in the severity and the concerns.
    media: list[Annotated[str, StringConstraints(min_length=2, max_length=200)]] | None = None  # None: built-in list
    interval: Duration = parse_duration("1m")  # `runbook monitor` without --once: time between checks
    sentiment: str | None = None  # package.module:factory of a better analyser

    def brand(self, brand_id: str) -> Brand:
        for brand in self.brands:
            if brand.id == brand_id:
                return brand
        raise KeyError(brand_id)

    def resolve_after_for(self, brand_id: str) -> Any:
        found = next((b for b in self.brands if b.id == brand_id), None)
        return found.resolve_after if found and found.resolve_after else self.resolve_after

    def renotify_after_for(self, brand_id: str) -> Any:
        found = next((b for b in self.brands if b.id == brand_id), None)
        return found.renotify_after if found and found.renotify_after else self.renotify_after

    def rule_for(self, brand_id: str) -> AlertRule | None:
        for rule in self.rules:
            if rule.brands is None or brand_id in rule.brands:
                return rule
        return None


def load_config(path: Path | None, *, engine: Any = None) -> ListeningConfig:
    """The file's configuration; without a file (or with no brands in it) the sandbox's brands."""
    config = ListeningConfig()
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        try:
            config = ListeningConfig.model_validate(data)
        except ValidationError as exc:
            lines = [f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
            raise ConfigError("\n".join(lines)) from None
        problems = []
        for brand in config.brands:
            try:
                brand.rule()
            except ConfigError as exc:
                problems.append(f"{path}: {exc}")
        if problems:
            raise ConfigError("\n".join(problems))
    if not config.brands and engine is not None:
        config = config.model_copy(update={"brands": default_config(engine).brands})
    return config


def default_config(engine: Any) -> ListeningConfig:
    import sqlalchemy as sa

    from runbook.sandbox.tables import accounts

    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(accounts.c.platform, accounts.c.handle)
            .where(accounts.c.kind == "brand")
            .order_by(accounts.c.handle)
        ).all()
    return ListeningConfig(
        brands=[
            Brand(
                id=f"{r.platform}-{r.handle}"[:100].replace("@", ""),
                accounts=[AccountRef(platform=r.platform, handle=r.handle)],
            )
            for r in rows
        ]
    )
