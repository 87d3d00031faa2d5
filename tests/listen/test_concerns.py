"""Concerns found without a topic list, on hand-written samples a brand has never shown us: an
airline week (English), a rail operator (Dutch), a pizza brand's hashtag joke beside its cold
deliveries; from the store by window and account, and through `runbook mentions concerns`."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.listen.concerns import Doc, concerns_in_window, find_concerns, is_media
from runbook.listen.model import NewMention
from runbook.listen.store import store_mentions

SAMPLES = Path(__file__).parent / "samples"
CALM = {"positive", "neutral", "positief", "neutraal"}
T0 = datetime.fromisoformat("2025-02-07T08:00:00+00:00")


def sample(name: str) -> list[tuple[str, str]]:
    return [
        tuple(line.split("\t", 1))
        for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]


def grouped(name: str, language: str, brand: str):  # noqa: ANN201
    rows = sample(name)
    docs = [
        Doc(key=str(i), text=t, language=language, author=f"a{i}", followers=i)
        for i, (r, t) in enumerate(rows)
        if r not in CALM
    ]
    calm = [Doc(key=f"b{i}", text=t, language=language, negative=False) for i, (r, t) in enumerate(rows) if r in CALM]
    report = find_concerns(docs, background=calm, stop=[brand])
    reasons = {str(i): r for i, (r, _) in enumerate(rows)}
    return report, {c.id: Counter(reasons[k] for k in c.keys) for c in report.concerns}


def best_match(mix: dict[str, Counter], reason: str) -> tuple[str, float, float]:
    """The concern holding most of `reason`: its id, its purity and how much of the reason it holds."""
    total = sum(m[reason] for m in mix.values())
    cid = max(mix, key=lambda c: mix[c][reason])
    return cid, mix[cid][reason] / sum(mix[cid].values()), mix[cid][reason] / total


@pytest.mark.parametrize(
    ("name", "language", "brand", "reasons", "words"),
    [
        (
            "airline_en.txt",
            "en",
            "SkyLark",
            ["delay", "cancel", "bag", "service", "rude"],
            {"delay": "delay", "cancel": "cancel", "bag": "lu", "service": "service", "rude": "rude"},
        ),
        (
            "rail_nl.txt",
            "nl",
            "SnelTrein",
            ["vertraging", "geannuleerd", "koffer", "klantenservice"],
            {
                "vertraging": "vertraging",
                "geannuleerd": "geannuleerd",
                "koffer": "koffer",
                "klantenservice": "klantenservice",
            },
        ),
    ],
)
def test_each_complaint_reason_is_a_concern_of_its_own(name, language, brand, reasons, words) -> None:  # noqa: ANN001
    report, mix = grouped(name, language, brand)
    seen = set()
    for reason in reasons:
        cid, purity, coverage = best_match(mix, reason)
        assert purity >= 0.75 and coverage >= 0.6, (reason, mix)
        seen.add(cid)
        concern = next(c for c in report.concerns if c.id == cid)
        assert words[reason] in concern.label, concern.label  # labelled by its own distinctive words
    assert len(seen) == len(reasons)  # different reasons, different concerns
    first = report.concerns[0]
    assert first.size == max(c.size for c in report.concerns) and first.samples and first.top_authors
    assert all(c.negative_share <= 1 and c.share <= 1 for c in report.concerns)


def test_a_hashtag_joke_is_not_mixed_with_cold_pizza() -> None:
    report, mix = grouped("pizza_en.txt", "en", "CrustCo")
    for _cid, counts in mix.items():
        assert len(counts) == 1, mix  # every concern is about one thing
    labels = " ".join(c.label for c in report.concerns)
    assert "delivery" in labels or "cold" in labels
    assert "hashtag" in labels or "whyistayed" in labels or "domestic violence" in labels


def test_too_few_or_no_common_words_gives_no_concerns() -> None:
    assert find_concerns([Doc(key="1", text="awful"), Doc(key="2", text="bad")]).concerns == []
    report = find_concerns([Doc(key=str(i), text=f"word{i} other{i} thing{i}") for i in range(30)])
    assert report.concerns == [] and report.other == 30


def test_media_means_handles_or_link_domains() -> None:
    assert is_media("nytimes", "anything") and is_media("jan", "see https://www.nos.nl/artikel/1")
    assert not is_media("ann", "the news says it is chaos")
    assert is_media("ann", "x", media=["ann"]) and not is_media("nytimes", "x", media=["ann"])


def store_week(engine) -> None:  # noqa: ANN001
    items = []
    for i, (reason, text) in enumerate(sample("airline_en.txt")):
        items.append(
            NewMention(
                platform="x",
                ref=f"a{i}",
                account="SkyLark",
                author=f"p{i}",
                text=text,
                created_at=T0 + timedelta(minutes=i),
                author_followers=10 * i,
                language="en",
                sentiment=0.4 if reason in CALM else -0.5,
            )
        )
    items.append(
        NewMention(
            platform="x",
            ref="other",
            account="OtherCo",
            author="z",
            text="@OtherCo lost my bag",
            created_at=T0,
            sentiment=-0.5,
            language="en",
        )
    )
    store_mentions(engine, items, source="test")


def test_concerns_in_window_by_account(sqlite_engine) -> None:  # noqa: ANN001
    store_week(sqlite_engine)
    report = concerns_in_window(sqlite_engine, accounts=[("x", "SkyLark")], since=T0, until=T0 + timedelta(hours=2))
    assert report.negative == 68 and len(report.concerns) >= 5
    assert "other" not in {k for c in report.concerns for k in c.keys}  # another brand's mention stays out
    assert all(c.top_authors == sorted(c.top_authors, key=lambda a: -a["followers"]) for c in report.concerns)
    early = concerns_in_window(sqlite_engine, accounts=None, since=T0, until=T0 + timedelta(minutes=10))
    assert early.negative == 11  # ten of SkyLark's first minutes plus OtherCo's


def test_the_command_prints_and_emits_json(sqlite_url, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from runbook.cli.main import app
    from runbook.db import init_db, make_engine

    engine = make_engine(sqlite_url)
    init_db(engine)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    store_week(engine)
    window = ["--since", T0.isoformat(), "--until", (T0 + timedelta(hours=2)).isoformat(), "--account", "x:SkyLark"]
    runner = CliRunner()
    out = runner.invoke(app, ["mentions", "concerns", *window, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["negative"] == 68 and data["concerns"][0]["id"] == "c1" and data["concerns"][0]["authors"]
    text = runner.invoke(app, ["mentions", "concerns", *window])
    assert text.exit_code == 0 and "68 negative mentions" in text.stdout and "top authors by reach: @" in text.stdout
    bad = runner.invoke(app, ["mentions", "concerns", "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since: not an ISO time" in bad.output
