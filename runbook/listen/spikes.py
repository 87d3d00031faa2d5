"""Spike detection: the last window's volume and negatives against a trailing baseline of equal
windows (mean + k standard deviations, as listening tools do), with minimum volumes.

One SQL aggregate per check (counts per window-sized bucket over the covering index), so a
check costs the same whatever else is stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit.models import as_utc
from runbook.listen.store import epoch_of
from runbook.listen.tables import mentions

__all__ = ["Check", "SpikeRule", "account_filter", "check_spike", "window_counts"]


@dataclass(frozen=True)
class SpikeRule:
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=7)
    k: float = 3.0
    min_volume: int = 30  # a quiet brand does not alert on a handful of mentions
    min_negative: int = 15
    negative_rise: float = 0.15  # negative share must also exceed the baseline share by this much

    def __post_init__(self) -> None:
        if self.window.total_seconds() < 60 or self.baseline < self.window:
            raise ValueError("the window must be at least 1m and the baseline at least one window")


@dataclass(frozen=True)
class Check:
    brand: str
    at: datetime
    window_start: datetime
    volume: int
    negative: int
    baseline_windows: int  # how many baseline windows had history (buckets since the first mention)
    baseline_mean: float
    baseline_std: float
    threshold: float
    negative_mean: float
    negative_std: float
    negative_threshold: float
    baseline_negative_share: float
    reasons: list[str] = field(default_factory=list)  # "volume", "negative"

    @property
    def spike(self) -> bool:
        return bool(self.reasons)

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        out["at"] = self.at.isoformat()
        out["window_start"] = self.window_start.isoformat()
        out["negative_share"] = round(self.negative_share, 4)
        out["spike"] = self.spike
        for key in ("baseline_mean", "baseline_std", "threshold", "negative_mean", "negative_std",
                    "negative_threshold", "baseline_negative_share"):
            out[key] = round(out[key], 4)
        return out


def account_filter(accounts: Sequence[tuple[str | None, str]]) -> sa.ColumnElement[bool]:
    """(platform, handle) pairs; a None platform matches the handle on every platform."""
    terms = [mentions.c.account == handle if platform is None
             else sa.and_(mentions.c.account == handle, mentions.c.platform == platform)
             for platform, handle in accounts]
    if not terms:
        raise ValueError("a brand needs at least one account")
    return terms[0] if len(terms) == 1 else sa.or_(*terms)


def window_counts(engine: Engine, accounts: Sequence[tuple[str | None, str]], *, start: datetime,
                  width: timedelta, count: int) -> tuple[list[int], list[int], int | None]:
    """Mentions and negatives in `count` consecutive windows from `start`, and the first mention's epoch."""
    begin, size = epoch_of(start), int(width.total_seconds())
    bucket = ((mentions.c.epoch - sa.literal(begin, sa.BigInteger)) // sa.literal(size, sa.BigInteger)).label("b")
    where = account_filter(accounts)
    query = (sa.select(bucket, sa.func.count(), sa.func.sum(mentions.c.negative))
             .where(where, mentions.c.epoch >= begin, mentions.c.epoch < begin + size * count)
             .group_by(bucket))
    volumes, negatives = [0] * count, [0] * count
    with engine.connect() as connection:
        for b, n, neg in connection.execute(query):
            if 0 <= int(b) < count:
                volumes[int(b)] = int(n)
                negatives[int(b)] = int(neg or 0)
        # min(epoch) per account uses the index (account, epoch): one seek each.
        firsts = [connection.execute(sa.select(sa.func.min(mentions.c.epoch)).where(account_filter([pair])))
                  .scalar() for pair in accounts]
    known = [f for f in firsts if f is not None]
    return volumes, negatives, min(known) if known else None


def _mean_std(values: Sequence[int]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def check_spike(engine: Engine, *, brand: str, accounts: Sequence[tuple[str | None, str]],
                rule: SpikeRule | None = None, now: datetime | None = None) -> Check:
    """Compare the window ending at `now` with the baseline windows before it."""
    rule = rule or SpikeRule()
    at = as_utc(now)
    n = int(rule.baseline.total_seconds() // rule.window.total_seconds())
    window_start = at - rule.window
    volumes, negatives, first = window_counts(engine, accounts, start=window_start - n * rule.window,
                                              width=rule.window, count=n + 1)
    volume, negative = volumes[-1], negatives[-1]
    # Only windows since the brand's first stored mention count as history: a brand monitored
    # since yesterday has no quiet week to compare with, and zeros would make every day a spike.
    history = 0
    if first is not None:
        start_epoch = epoch_of(window_start - n * rule.window)
        width = int(rule.window.total_seconds())
        skipped = max(0, (first - start_epoch) // width)
        history = max(0, n - skipped)
    base_v, base_n = volumes[n - history:n], negatives[n - history:n]
    mean, std = _mean_std(base_v)
    neg_mean, neg_std = _mean_std(base_n)
    base_total = sum(base_v)
    base_share = sum(base_n) / base_total if base_total else 0.0
    threshold = mean + rule.k * std
    neg_threshold = neg_mean + rule.k * neg_std
    reasons = []
    if volume >= rule.min_volume and volume > threshold:
        reasons.append("volume")
    share = negative / volume if volume else 0.0
    if (negative >= rule.min_negative and negative > neg_threshold
            and share >= base_share + rule.negative_rise):
        reasons.append("negative")
    return Check(brand=brand, at=at, window_start=window_start, volume=volume, negative=negative,
                 baseline_windows=history, baseline_mean=mean, baseline_std=std, threshold=threshold,
                 negative_mean=neg_mean, negative_std=neg_std, negative_threshold=neg_threshold,
                 baseline_negative_share=base_share, reasons=reasons)
