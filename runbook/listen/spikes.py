"""Spike detection that knows the brand's rhythm: the last window against the same time of day on
earlier days (the same hour of the week once weeks of history exist), with robust statistics
(median and MAD, floored by Poisson noise), a warm-up, a lower threshold for hysteresis and a
sustained-elevation check over several hours. Every check explains its numbers.

One SQL aggregate per check (counts per window-sized bucket over the covering index), so a
check costs the same whatever else is stored.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit.models import as_utc
from runbook.listen.store import epoch_of, epoch_range
from runbook.listen.tables import mentions

__all__ = ["Check", "SpikeRule", "account_filter", "against_usual", "check_spike", "robust", "window_counts"]

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation is 1.4826 times its MAD


@dataclass(frozen=True)
class SpikeRule:
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=28)  # how far back same-weekday windows are looked for
    recent_days: int = 7  # same-time-of-day windows come from this many recent days (a trend lags less)
    k: float = 3.0  # alert above usual + k robust deviations ...
    min_ratio: float = 1.5  # ... and at least this many times the usual volume
    k_low: float = 1.0  # hysteresis: "still elevated" above usual + k_low deviations
    min_volume: int = 30  # a quiet brand does not alert on a handful of mentions
    min_negative: int = 15
    negative_rise: float = 0.15  # negative share must also exceed the usual share by this much
    warmup: timedelta = timedelta(days=3)  # history needed before comparing with the brand's rhythm
    min_samples: int = 3  # comparable earlier windows needed, too
    warmup_volume: int = 300  # during warm-up only this absolute volume per window alerts
    profile: Literal["auto", "hour_of_day", "hour_of_week"] = "auto"
    weekly_after: int = 3  # auto: same-weekday samples once this many weeks of them exist
    sustained_window: timedelta = timedelta(hours=6)
    sustained_ratio: float = 2.0  # a day at this many times its usual hours alerts too

    def __post_init__(self) -> None:
        if self.window.total_seconds() < 60 or self.baseline < DAY:
            raise ValueError("the window must be at least 1m and the baseline at least 1d")
        if DAY % self.window:
            raise ValueError("a day must be a whole number of windows (1h, 30m, 15m, ...)")
        if self.sustained_window < self.window or self.sustained_window % self.window or self.sustained_window > DAY:
            raise ValueError("sustained_window must be a whole number of windows, at most 1d")


@dataclass(frozen=True)
class Check:
    brand: str
    at: datetime
    window_start: datetime
    volume: int
    negative: int
    baseline_windows: int  # comparable earlier windows with history (the samples)
    baseline_mean: float  # the usual volume of this window: the median of the samples
    baseline_std: float  # robust deviation: sqrt((1.4826 x MAD)^2 + usual)
    threshold: float
    negative_mean: float
    negative_std: float
    negative_threshold: float
    baseline_negative_share: float
    reasons: list[str] = field(default_factory=list)  # "volume", "negative", "sustained"
    mode: str = "hour_of_day"  # warm-up | hour_of_day | hour_of_week
    lower_threshold: float = 0.0
    history_hours: float = 0.0
    sustained_volume: int = 0
    sustained_expected: float = 0.0
    sustained_threshold: float = 0.0
    explanation: list[str] = field(default_factory=list)

    @property
    def spike(self) -> bool:
        return bool(self.reasons)

    @property
    def elevated(self) -> bool:
        """Above the lower threshold (or sustained): an open alert stays open."""
        return self.spike or (self.mode != "warm-up" and self.volume >= self.lower_threshold)

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0

    @property
    def ratio(self) -> float:
        return self.volume / max(self.baseline_mean, 1.0)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        out["at"] = self.at.isoformat()
        out["window_start"] = self.window_start.isoformat()
        out["negative_share"] = round(self.negative_share, 4)
        out["spike"] = self.spike
        out["elevated"] = self.elevated
        for key in (
            "baseline_mean",
            "baseline_std",
            "threshold",
            "negative_mean",
            "negative_std",
            "negative_threshold",
            "baseline_negative_share",
            "lower_threshold",
            "history_hours",
            "sustained_expected",
            "sustained_threshold",
        ):
            out[key] = round(out[key], 4)
        return out


def account_filter(accounts: Sequence[tuple[str | None, str]]) -> sa.ColumnElement[bool]:
    """(platform, handle) pairs; a None platform matches the handle on every platform."""
    terms = [
        mentions.c.account == handle
        if platform is None
        else sa.and_(mentions.c.account == handle, mentions.c.platform == platform)
        for platform, handle in accounts
    ]
    if not terms:
        raise ValueError("a brand needs at least one account")
    return terms[0] if len(terms) == 1 else sa.or_(*terms)


def brand_window(
    accounts: Sequence[tuple[str | None, str]] | None, since: datetime, until: datetime
) -> list[sa.ColumnElement[bool]]:
    """WHERE terms for the mentions of the brand accounts (None: every account) in [since, until)."""
    terms = epoch_range(since, until)
    if accounts:
        terms.append(account_filter(accounts))
    return terms


def window_counts(
    engine: Engine, accounts: Sequence[tuple[str | None, str]], *, start: datetime, width: timedelta, count: int
) -> tuple[list[int], list[int], int | None]:
    """Mentions and negatives in `count` consecutive windows from `start`, and the first mention's epoch."""
    begin, size = epoch_of(start), int(width.total_seconds())
    bucket = ((mentions.c.epoch - sa.literal(begin, sa.BigInteger)) // sa.literal(size, sa.BigInteger)).label("b")
    where = account_filter(accounts)
    query = (
        sa.select(bucket, sa.func.count(), sa.func.sum(mentions.c.negative))
        .where(where, mentions.c.epoch >= begin, mentions.c.epoch < begin + size * count)
        .group_by(bucket)
    )
    volumes, negatives = [0] * count, [0] * count
    with engine.connect() as connection:
        for b, n, neg in connection.execute(query):
            if 0 <= int(b) < count:
                volumes[int(b)] = int(n)
                negatives[int(b)] = int(neg or 0)
        # min(epoch) per account uses the index (account, epoch): one seek each.
        firsts = [
            connection.execute(sa.select(sa.func.min(mentions.c.epoch)).where(account_filter([pair]))).scalar()
            for pair in accounts
        ]
    known = [f for f in firsts if f is not None]
    return volumes, negatives, min(known) if known else None


def robust(samples: Sequence[float]) -> tuple[float, float]:
    """(usual, deviation): the median, and sqrt((1.4826 x MAD)^2 + usual): how much the usual
    varies from day to day plus the counting (Poisson) noise of the window itself.

    The median ignores one surge day among the samples, so day two of a surge is compared with
    ordinary days, not with day one; the Poisson term keeps a few identical quiet days from
    making the deviation zero."""
    if not samples:
        return 0.0, 0.0
    usual = float(statistics.median(samples))
    mad = float(statistics.median([abs(s - usual) for s in samples]))
    return usual, math.sqrt((MAD_TO_SIGMA * mad) ** 2 + max(usual, 1.0))


@dataclass(frozen=True)
class _Series:
    """Bucket counts newest first: index j covers [at - (j+1) w, at - j w)."""

    volumes: list[int]
    negatives: list[int]
    first: int | None
    at_epoch: int
    width: int

    def covered(self, j: int) -> bool:
        return self.first is not None and self.at_epoch - (j + 1) * self.width >= self.first

    def span(self, attr: str, j: int, n: int) -> int:
        values = getattr(self, attr)
        return sum(values[j : j + n])


def _series(
    engine: Engine, accounts: Sequence[tuple[str | None, str]], at: datetime, rule: SpikeRule, buckets: int
) -> _Series:
    volumes, negatives, first = window_counts(
        engine, accounts, start=at - buckets * rule.window, width=rule.window, count=buckets
    )
    return _Series(volumes[::-1], negatives[::-1], first, epoch_of(at), int(rule.window.total_seconds()))


def _offsets(series: _Series, rule: SpikeRule, n: int, days: int) -> tuple[list[int], str]:
    """Bucket offsets of the comparable earlier windows (the same time of day, or of the week)."""
    per_day = int(DAY / rule.window)
    daily = [d * per_day for d in range(1, days + 1) if series.covered(d * per_day + n - 1)]
    weekly = [j for j in daily if j % (7 * per_day) == 0]
    daily = [j for j in daily if j <= rule.recent_days * per_day]
    if rule.profile == "hour_of_week" or (rule.profile == "auto" and len(weekly) >= rule.weekly_after):
        return weekly, "hour_of_week"
    return daily, "hour_of_day"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def check_spike(
    engine: Engine,
    *,
    brand: str,
    accounts: Sequence[tuple[str | None, str]],
    rule: SpikeRule | None = None,
    now: datetime | None = None,
) -> Check:
    """Compare the window ending at `now` with the same window on earlier days."""
    rule = rule or SpikeRule()
    at = as_utc(now)
    per_day = int(DAY / rule.window)
    days = int(rule.baseline / DAY)
    s = int(rule.sustained_window / rule.window)
    series = _series(engine, accounts, at, rule, days * per_day + s)
    volume, negative = series.volumes[0], series.negatives[0]
    history = max(0.0, (series.at_epoch - series.first) / 3600) if series.first is not None else 0.0
    offsets, mode = _offsets(series, rule, 1, days)
    vols = [series.volumes[j] for j in offsets]
    negs = [series.negatives[j] for j in offsets]
    usual, deviation = robust(vols)
    neg_usual, neg_deviation = robust(negs)
    base_share = sum(negs) / sum(vols) if sum(vols) else 0.0
    span = _fmt(rule.window.total_seconds() / 3600) + "h"
    why: list[str] = []
    reasons: list[str] = []
    warm = history * 3600 < rule.warmup.total_seconds() or len(vols) < rule.min_samples
    if warm:
        mode = "warm-up"
        threshold = float(max(rule.warmup_volume, rule.min_volume))
        why.append(
            f"warm-up: {history:.0f}h of history and {len(vols)} comparable windows (needs "
            f"{rule.warmup.total_seconds() / 3600:.0f}h and {rule.min_samples}); until then only an absolute "
            f"minimum of {threshold:.0f} mentions per {span} alerts"
        )
        if volume >= threshold:
            reasons.append("volume")
        why.append(f"volume {volume} {'>=' if reasons else '<'} {threshold:.0f}")
        # Warm-up alerts on volume alone: one threshold for all, no sustained comparison yet.
        neg_threshold = lower = threshold
        s_volume, s_usual, s_threshold = 0, 0.0, 0.0
    else:
        threshold = max(usual + rule.k * deviation, rule.min_ratio * usual, float(rule.min_volume))
        lower = usual + rule.k_low * deviation
        where = "the same hour of the week" if mode == "hour_of_week" else "the same time of day"
        why.append(
            f"volume {volume} in the last {span}; usual {_fmt(usual)} (median of {len(vols)} windows at {where}: "
            f"{', '.join(str(v) for v in vols[:14])}{' ...' if len(vols) > 14 else ''}), deviation "
            f"{_fmt(deviation)}; alert at {_fmt(threshold)} = max(usual + {_fmt(rule.k)} x deviation, "
            f"{_fmt(rule.min_ratio)} x usual, minimum {rule.min_volume}); stays open above {_fmt(lower)}"
        )
        if volume >= threshold:
            reasons.append("volume")
        neg_threshold = max(neg_usual + rule.k * neg_deviation, rule.min_ratio * neg_usual, float(rule.min_negative))
        share = negative / volume if volume else 0.0
        # The share must rise too (sentiment turning); negatives flooding in at three times their alert
        # level need half that rise (a storm big enough to drown its own share).
        if negative >= neg_threshold and (
            share >= base_share + rule.negative_rise
            or (share >= base_share + rule.negative_rise / 2 and negative >= 3 * neg_threshold)
        ):
            reasons.append("negative")
        why.append(
            f"negative {negative} ({share:.0%}); usual {_fmt(neg_usual)} ({base_share:.0%} of mentions); alert at "
            f"{_fmt(neg_threshold)} and a share of at least {base_share + rule.negative_rise:.0%} (or "
            f"{_fmt(3 * neg_threshold)} and {base_share + rule.negative_rise / 2:.0%})"
        )
        # Sustained elevation: the last hours together against the same hours on earlier days.
        s_offsets, _ = _offsets(series, rule, s, days)
        s_samples = [series.span("volumes", j, s) for j in s_offsets]
        s_volume = series.span("volumes", 0, s)
        s_usual, s_dev = robust(s_samples)
        s_threshold = max(rule.sustained_ratio * s_usual, s_usual + rule.k * s_dev, float(rule.min_volume))
        if len(s_samples) >= rule.min_samples:
            if s_volume >= s_threshold:
                reasons.append("sustained")
            why.append(
                f"last {_fmt(rule.sustained_window.total_seconds() / 3600)}h: {s_volume} against usual "
                f"{_fmt(s_usual)} ({s_volume / max(s_usual, 1):.1f}x); sustained elevation at {_fmt(s_threshold)} "
                f"(at least {_fmt(rule.sustained_ratio)}x)"
            )
    # The check's figures, each computed above and named here; features.py's Cues(...) reads alike in
    # layout only, and a dict splat would lose the names mypy checks.
    return Check(
        brand=brand,
        at=at,
        window_start=at - rule.window,
        volume=volume,
        negative=negative,
        baseline_windows=len(vols),
        baseline_mean=usual,
        baseline_std=deviation,
        threshold=threshold,
        negative_mean=neg_usual,
        negative_std=neg_deviation,
        negative_threshold=neg_threshold,
        baseline_negative_share=base_share,
        reasons=reasons,
        mode=mode,
        lower_threshold=lower,
        history_hours=history,
        sustained_volume=s_volume,
        sustained_expected=s_usual,
        sustained_threshold=s_threshold,
        explanation=why,
    )


def against_usual(
    engine: Engine,
    accounts: Sequence[tuple[str | None, str]],
    *,
    since: datetime,
    until: datetime,
    rule: SpikeRule | None = None,
) -> dict[str, Any]:
    """The windows of [since, until) each against its usual (the same time on earlier days), and the
    period as a whole against the same period on earlier days: what severity is measured by."""
    rule = rule or SpikeRule()
    at = as_utc(until)
    n = max(1, math.ceil((at - as_utc(since)) / rule.window))
    days = int(rule.baseline / DAY)
    series = _series(engine, accounts, at, rule, days * int(DAY / rule.window) + n)
    offsets, mode = _offsets(series, rule, n, days)
    totals = [series.span("volumes", j, n) for j in offsets]
    negatives = [series.span("negatives", j, n) for j in offsets]
    usual, deviation = robust(totals)
    usual_negative, _ = robust(negatives)
    peak_ratio, peak, peak_usual = 0.0, 0, 0.0
    for i in range(n):
        window_usual, _ = robust([series.volumes[i + j] for j in offsets]) if offsets else (0.0, 0.0)
        volume = series.volumes[i]
        if volume >= rule.min_volume and volume / max(window_usual, 1.0) > peak_ratio:
            peak_ratio, peak, peak_usual = volume / max(window_usual, 1.0), volume, window_usual
    return {
        "mode": mode if len(offsets) >= rule.min_samples else "warm-up",
        "samples": len(offsets),
        "windows": n,
        "volume": series.span("volumes", 0, n),
        "negative": series.span("negatives", 0, n),
        "usual": usual,
        "deviation": deviation,
        "usual_negative": usual_negative,
        "usual_negative_share": sum(negatives) / sum(totals) if sum(totals) else 0.0,
        "peak": peak,
        "peak_usual": peak_usual,
        "peak_ratio": peak_ratio,
    }
