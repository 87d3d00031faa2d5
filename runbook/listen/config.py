"""The listening configuration (`listening.yaml`): brands and their accounts, spike rules, where
alerts go, which playbook an alert offers or starts, and which channels are ingested.

Without a file, every brand account of the sandbox network is a brand of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from runbook.listen.spikes import SpikeRule
from runbook.spec.durations import Duration, parse_duration

__all__ = ["AccountRef", "AlertRule", "Brand", "ConfigError", "ListeningConfig", "Source", "default_config",
           "load_config"]

Handle = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountRef(_Strict):
    platform: str | None = None  # None: this handle on every platform
    handle: Handle


class Brand(_Strict):
    id: Ident
    accounts: Annotated[list[AccountRef], Field(min_length=1)]
    window: Duration = parse_duration("1h")
    baseline: Duration = parse_duration("7d")
    k: Annotated[float, Field(gt=0, le=20)] = 3.0
    min_volume: Annotated[int, Field(ge=1)] = 30
    min_negative: Annotated[int, Field(ge=1)] = 15
    negative_rise: Annotated[float, Field(ge=0, le=1)] = 0.15

    def rule(self) -> SpikeRule:
        return SpikeRule(window=self.window, baseline=self.baseline, k=self.k, min_volume=self.min_volume,
                         min_negative=self.min_negative, negative_rise=self.negative_rise)

    def pairs(self) -> list[tuple[str | None, str]]:
        return [(a.platform, a.handle.lstrip("@")) for a in self.accounts]


class AlertRule(_Strict):
    """What an alert for these brands offers (a one-click start) or does (auto_start)."""

    brands: list[Ident] | None = None  # None: every brand
    playbook: Ident | None = "social-media-mistake"
    auto_start: bool = False
    requester: str | None = None  # a roster person allowed to start incidents (needed for auto_start)
    inputs: dict[str, Any] = {}  # extra playbook inputs; summary is filled from the alert
    reasons: list[Literal["volume", "negative"]] = ["volume", "negative"]  # which spikes it answers


class Source(_Strict):
    name: Ident = "sandbox"
    kind: Literal["sandbox", "channels"] = "sandbox"  # channels: the accounts of channels.yaml (real networks)
    page_size: Annotated[int, Field(ge=1, le=5000)] = 500


class ListeningConfig(_Strict):
    brands: list[Brand] = []
    sources: list[Source] = [Source()]
    alerts_channel: str | None = None  # chat channel of alerts (a Slack channel id); None: the console
    rules: list[AlertRule] = [AlertRule()]
    resolve_after: Duration = parse_duration("2h")  # quiet this long (below threshold): the alert closes
    interval: Duration = parse_duration("1m")  # `runbook monitor` without --once: time between checks
    sentiment: str | None = None  # package.module:factory of a better analyser

    def brand(self, brand_id: str) -> Brand:
        for brand in self.brands:
            if brand.id == brand_id:
                return brand
        raise KeyError(brand_id)

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
    if not config.brands and engine is not None:
        config = config.model_copy(update={"brands": default_config(engine).brands})
    return config


def default_config(engine: Any) -> ListeningConfig:
    import sqlalchemy as sa

    from runbook.sandbox.tables import accounts

    with engine.connect() as connection:
        rows = connection.execute(sa.select(accounts.c.platform, accounts.c.handle)
                                  .where(accounts.c.kind == "brand").order_by(accounts.c.handle)).all()
    return ListeningConfig(brands=[Brand(id=f"{r.platform}-{r.handle}"[:100].replace("@", ""),
                                         accounts=[AccountRef(platform=r.platform, handle=r.handle)])
                                   for r in rows])
