"""Spike detection on the three doctrine storms after a baseline week: an alert within one window
of the storm's start and none before; a quiet brand and a slow rise do not alert; a seasonal week
with a surge on two days: both alerted, none in warm-up, one alert per surge."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

from runbook.listen.ingest import ingest_channel
from runbook.listen.model import NewMention
from runbook.listen.simulate import Traffic, load_traffic
from runbook.listen.spikes import SpikeRule, check_spike
from runbook.listen.store import store_mentions
from runbook.sandbox import SandboxChannel

WINDOW = timedelta(hours=1)


def sweep(engine, pairs, *, start: datetime, end: datetime, step: timedelta, rule: SpikeRule | None = None):  # noqa: ANN001, ANN201
    at = start
    while at <= end:
        yield at, check_spike(engine, brand="b", accounts=pairs, rule=rule, now=at)
        at += step


@pytest.mark.parametrize("scenario", ["us-airways", "red-cross", "digiorno"])
def test_storm_alerts_within_one_window_and_never_during_the_baseline(worlds, scenario: str) -> None:  # noqa: ANN001
    world = worlds[scenario]
    baseline = [
        (at, c)
        for at, c in sweep(
            world.engine, world.pairs, start=world.t0 - timedelta(days=7), end=world.t0, step=timedelta(minutes=30)
        )
    ]
    assert len(baseline) == 337
    assert [at for at, c in baseline if c.spike] == []
    assert all(c.baseline_windows >= 6 and c.mode == "hour_of_day" for _, c in baseline)
    assert 2 < baseline[-1][1].baseline_mean < 18  # eight an hour, with a daily rhythm

    storm = [
        (at, c)
        for at, c in sweep(
            world.engine,
            world.pairs,
            start=world.t0 + timedelta(minutes=5),
            end=world.t0 + WINDOW,
            step=timedelta(minutes=5),
        )
    ]
    first_at, first = next((at, c) for at, c in storm if c.spike)
    assert first_at - world.t0 <= WINDOW
    assert "volume" in first.reasons
    assert first.volume > first.threshold and first.volume >= SpikeRule().min_volume
    assert first.explanation[0].startswith(f"volume {first.volume} in the last 1h; usual")


def test_negative_share_is_its_own_reason(worlds) -> None:  # noqa: ANN001
    reasons = {
        name: check_spike(w.engine, brand=name, accounts=w.pairs, now=w.t0 + WINDOW).reasons
        for name, w in worlds.items()
    }
    # A hostile storm alerts on both; the Red Cross beer tweet drew mockery and support, not anger.
    assert reasons == {
        "us-airways": ["volume", "negative", "sustained"],
        "red-cross": ["volume", "sustained"],
        "digiorno": ["volume", "negative", "sustained"],
    }


def test_a_quiet_brand_does_not_alert_on_a_handful_of_mentions(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T12:00:00+00:00")
    load_traffic(sqlite_engine, Traffic(account="QuietCo", per_hour=0.2), start=t0 - timedelta(days=8), end=t0)
    ingest_channel(sqlite_engine, SandboxChannel(sqlite_engine), source="sandbox", account="QuietCo")
    burst = [
        NewMention(
            platform="x",
            ref=f"q{i}",
            account="QuietCo",
            author=f"p{i}",
            text="@QuietCo terrible, awful",
            created_at=t0 + timedelta(minutes=i),
        )
        for i in range(6)
    ]
    store_mentions(sqlite_engine, burst, source="test")
    check = check_spike(sqlite_engine, brand="quiet", accounts=[("x", "QuietCo")], now=t0 + timedelta(minutes=30))
    assert check.volume == 6 and check.volume > check.baseline_mean + 3 * check.baseline_std  # far above usual ...
    assert check.negative == 6 and check.threshold == SpikeRule().min_volume
    assert not check.spike  # ... but six mentions are no crisis
    louder = SpikeRule(min_volume=5, min_negative=5)
    assert check_spike(
        sqlite_engine, brand="quiet", accounts=[("x", "QuietCo")], rule=louder, now=t0 + timedelta(minutes=30)
    ).reasons == ["volume", "negative", "sustained"]


def test_a_slow_rise_does_not_alert(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T00:00:00+00:00")
    # Five percent more every day: the volume doubles in a fortnight. Busy enough that the minimum
    # volumes are passed every afternoon, so only the baseline comparison holds the alert back.
    load_traffic(
        sqlite_engine,
        Traffic(account="GrowCo", per_hour=30, growth_per_day=0.05),
        start=t0,
        end=t0 + timedelta(days=18),
    )
    ingest_channel(sqlite_engine, SandboxChannel(sqlite_engine), source="sandbox", account="GrowCo")
    checks = list(
        sweep(
            sqlite_engine,
            [("x", "GrowCo")],
            start=t0 + timedelta(days=8),
            end=t0 + timedelta(days=18),
            step=timedelta(hours=1),
        )
    )
    daily = [sum(c.volume for _, c in checks[i : i + 24]) for i in (0, len(checks) - 24)]
    assert daily[1] > 1.4 * daily[0]
    assert max(c.volume for _, c in checks) > 2 * SpikeRule().min_volume
    # The trend itself never alerts (no sustained elevation, no run of spikes); a few single-hour
    # outliers of the simulator's counting noise do cross a per-hour threshold.
    assert [at for at, c in checks if "sustained" in c.reasons] == []
    spikes = [at for at, c in checks if c.spike]
    assert len(spikes) <= 0.03 * len(checks)
    assert not any(b - a <= timedelta(hours=1) for a, b in zip(spikes, spikes[1:]))


def test_a_brand_in_warm_up_alerts_only_above_the_absolute_minimum_and_says_so(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T00:00:00+00:00")
    store_mentions(
        sqlite_engine,
        [
            NewMention(
                platform="x",
                ref=f"n{i}",
                account="NewCo",
                author="a",
                text="hello",
                created_at=t0 + timedelta(seconds=i),
            )
            for i in range(40)
        ],
        source="t",
    )
    check = check_spike(sqlite_engine, brand="new", accounts=[("x", "NewCo")], now=t0 + timedelta(minutes=10))
    assert check.mode == "warm-up" and check.baseline_windows == 0 and check.threshold == 300 and not check.spike
    assert check.explanation[0].startswith("warm-up: 0h of history and 0 comparable windows (needs 72h and 3)")
    store_mentions(
        sqlite_engine,
        [
            NewMention(
                platform="x",
                ref=f"m{i}",
                account="NewCo",
                author="a",
                text="hello",
                created_at=t0 + timedelta(seconds=i),
            )
            for i in range(300)
        ],
        source="t",
    )
    check = check_spike(sqlite_engine, brand="new", accounts=[("x", "NewCo")], now=t0 + timedelta(minutes=10))
    assert check.reasons == ["volume"] and check.explanation[-1] == "volume 340 >= 300"


def test_rule_validation() -> None:
    with pytest.raises(ValueError):
        SpikeRule(window=timedelta(seconds=10))
    with pytest.raises(ValueError):
        SpikeRule(window=timedelta(hours=2), baseline=timedelta(hours=1))
    with pytest.raises(ValueError, match="whole number of windows"):
        SpikeRule(window=timedelta(minutes=7))
    with pytest.raises(ValueError, match="sustained_window"):
        SpikeRule(sustained_window=timedelta(minutes=90))


# -- a seasonal week ------------------------------------------------------------------------------
MONDAY = datetime.fromisoformat("2025-02-03T00:00:00+00:00")
SURGES = [(MONDAY + timedelta(days=4, hours=8), 3.0), (MONDAY + timedelta(days=5, hours=9), 2.5)]  # Fri, Sat


def seasonal_week(engine, surges=SURGES, until_hour: int = 24) -> None:  # noqa: ANN001
    """Nine days of a brand's rhythm: busy afternoons, quiet nights, quieter weekends; Friday and
    Saturday from the morning until midnight (or `until_hour` the next day) at 3x and 2.5x their
    usual hours."""
    rng = random.Random(11)
    rows, hour = [], MONDAY
    while hour < MONDAY + timedelta(days=9):
        rate = 40 * (1 + 0.6 * math.sin((hour.hour - 9) / 24 * 2 * math.pi)) * (0.7 if hour.weekday() >= 5 else 1.0)
        angry = 0.3
        for start, factor in surges:
            if start <= hour < start.replace(hour=0) + timedelta(hours=until_hour):
                rate, angry = rate * factor, 0.6  # a surge of complaints
        for _ in range(_poisson(rng, rate)):
            at = hour + timedelta(seconds=rng.uniform(0, 3600))
            negative = rng.random() < angry
            rows.append(
                NewMention(
                    platform="x",
                    ref=f"w{len(rows)}",
                    account="Seasonal",
                    author=f"p{rng.randint(1, 5000)}",
                    text="@Seasonal " + ("still waiting, awful" if negative else "hello"),
                    created_at=at,
                    sentiment=-0.5 if negative else 0.3,
                    language="en",
                )
            )
        hour += timedelta(hours=1)
    store_mentions(engine, rows, source="test")


def _poisson(rng: random.Random, lam: float) -> int:
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def test_a_seasonal_week_alerts_both_surge_days_once_each_and_never_in_warm_up(sqlite_engine) -> None:  # noqa: ANN001
    from runbook.listen.config import AccountRef, Brand, ListeningConfig
    from runbook.listen.monitor import run_once

    seasonal_week(sqlite_engine)
    config = ListeningConfig(brands=[Brand(id="seasonal", accounts=[AccountRef(platform="x", handle="Seasonal")])])
    events, at = [], MONDAY + timedelta(minutes=10)
    while at < MONDAY + timedelta(days=7):
        tick = run_once(sqlite_engine, config, now=at, ingest=False, escalate=False)
        assert not tick.errors, tick.errors
        events.append((at, tick.outcomes[0]))
        at += timedelta(minutes=10)
    warm = [at for at, o in events if o.check.mode == "warm-up"]
    assert warm and warm[-1] <= MONDAY + timedelta(days=3, hours=1)  # three days of history, then the rhythm
    opened = [at for at, o in events if o.action == "opened"]
    resolved = [at for at, o in events if o.action == "resolved"]
    assert len(opened) == 2, opened
    for (start, _), when in zip(SURGES, opened):
        assert start < when <= start + timedelta(minutes=60)
    # One surge, one alert: open until the evening is back to normal, closed before the next surge.
    assert len(resolved) == 2 and SURGES[0][0] + timedelta(hours=16) < resolved[0] < opened[1] < resolved[1]
    during = {o.action for at, o in events if opened[0] < at < resolved[0]}
    assert during <= {"still_open", "quiet"}
    ordinary = [o.check for at, o in events if MONDAY + timedelta(days=3, hours=2) < at < SURGES[0][0]]
    assert all(not c.spike and c.mode == "hour_of_day" for c in ordinary)
    first = next(o.check for at, o in events if at == opened[0])
    assert first.ratio >= 1.5 or "negative" in first.reasons  # the surge of complaints may show first
    assert "median of 4 windows at the same time of day" in first.explanation[0]
