"""Spike detection on the three doctrine storms after a baseline week: an alert within one window
of the storm's start and none before; a quiet brand and a slow rise do not alert."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from runbook.listen.ingest import ingest_channel
from runbook.listen.simulate import Traffic, load_traffic
from runbook.listen.spikes import SpikeRule, check_spike
from runbook.listen.store import store_mentions
from runbook.listen.model import NewMention
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
    baseline = [(at, c) for at, c in sweep(world.engine, world.pairs, start=world.t0 - timedelta(days=7),
                                           end=world.t0, step=timedelta(minutes=30))]
    assert len(baseline) == 337
    assert [at for at, c in baseline if c.spike] == []
    assert all(c.baseline_windows >= 167 for _, c in baseline)
    assert 5 < baseline[-1][1].baseline_mean < 12  # eight an hour, with a daily rhythm

    storm = [(at, c) for at, c in sweep(world.engine, world.pairs, start=world.t0 + timedelta(minutes=5),
                                        end=world.t0 + WINDOW, step=timedelta(minutes=5))]
    first_at, first = next((at, c) for at, c in storm if c.spike)
    assert first_at - world.t0 <= WINDOW
    assert "volume" in first.reasons
    assert first.volume > first.threshold and first.volume >= SpikeRule().min_volume


def test_negative_share_is_its_own_reason(worlds) -> None:  # noqa: ANN001
    reasons = {name: check_spike(w.engine, brand=name, accounts=w.pairs, now=w.t0 + WINDOW).reasons
               for name, w in worlds.items()}
    # A hostile storm alerts on both; the Red Cross beer tweet drew mockery and support, not anger.
    assert reasons == {"us-airways": ["volume", "negative"], "red-cross": ["volume"],
                       "digiorno": ["volume", "negative"]}


def test_a_quiet_brand_does_not_alert_on_a_handful_of_mentions(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T12:00:00+00:00")
    load_traffic(sqlite_engine, Traffic(account="QuietCo", per_hour=0.2), start=t0 - timedelta(days=8), end=t0)
    ingest_channel(sqlite_engine, SandboxChannel(sqlite_engine), source="sandbox", account="QuietCo")
    burst = [NewMention(platform="x", ref=f"q{i}", account="QuietCo", author=f"p{i}", text="@QuietCo terrible, awful",
                        created_at=t0 + timedelta(minutes=i)) for i in range(6)]
    store_mentions(sqlite_engine, burst, source="test")
    check = check_spike(sqlite_engine, brand="quiet", accounts=[("x", "QuietCo")], now=t0 + timedelta(minutes=30))
    assert check.volume == 6 and check.volume > check.threshold  # far above its own baseline ...
    assert check.negative == 6
    assert not check.spike  # ... but six mentions are no crisis
    louder = SpikeRule(min_volume=5, min_negative=5)
    assert check_spike(sqlite_engine, brand="quiet", accounts=[("x", "QuietCo")], rule=louder,
                       now=t0 + timedelta(minutes=30)).reasons == ["volume", "negative"]


def test_a_slow_rise_does_not_alert(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T00:00:00+00:00")
    # Five percent more every day: the volume doubles in a fortnight. Busy enough that the minimum
    # volumes are passed every afternoon, so only the baseline comparison holds the alert back.
    load_traffic(sqlite_engine, Traffic(account="GrowCo", per_hour=30, growth_per_day=0.05),
                 start=t0, end=t0 + timedelta(days=18))
    ingest_channel(sqlite_engine, SandboxChannel(sqlite_engine), source="sandbox", account="GrowCo")
    checks = list(sweep(sqlite_engine, [("x", "GrowCo")], start=t0 + timedelta(days=8), end=t0 + timedelta(days=18),
                        step=timedelta(hours=1)))
    daily = [sum(c.volume for _, c in checks[i:i + 24]) for i in (0, len(checks) - 24)]
    assert daily[1] > 1.4 * daily[0]
    assert max(c.volume for _, c in checks) > 2 * SpikeRule().min_volume
    assert [at for at, c in checks if c.spike] == []


def test_a_brand_without_history_compares_with_nothing(sqlite_engine) -> None:  # noqa: ANN001
    t0 = datetime.fromisoformat("2024-03-01T00:00:00+00:00")
    store_mentions(sqlite_engine, [NewMention(platform="x", ref=f"n{i}", account="NewCo", author="a", text="hello",
                                              created_at=t0 + timedelta(seconds=i)) for i in range(40)], source="t")
    check = check_spike(sqlite_engine, brand="new", accounts=[("x", "NewCo")], now=t0 + timedelta(minutes=10))
    assert check.baseline_windows == 0 and check.threshold == 0 and check.reasons == ["volume"]


def test_rule_validation() -> None:
    with pytest.raises(ValueError):
        SpikeRule(window=timedelta(seconds=10))
    with pytest.raises(ValueError):
        SpikeRule(window=timedelta(hours=2), baseline=timedelta(hours=1))
