"""Ingestion: deduplicated by platform id, a cursor per channel, nothing lost or doubled by a
crash between fetch and commit, concurrent ingesters, and the `mentions_in_window` contract."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from runbook.listen import mentions_in_window
from runbook.listen.ingest import ingest_channel, read_cursor
from runbook.listen.tables import cursors, mentions
from runbook.sandbox import SandboxChannel, load_storm
from runbook.sandbox.scenarios import SCENARIOS
from tests.listen.conftest import REPO

T0 = datetime.fromisoformat(SCENARIOS["digiorno"].historic_start)


def stored(engine) -> tuple[int, int]:  # noqa: ANN001
    with engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(mentions)).scalar()
        distinct = connection.execute(sa.select(sa.func.count(sa.distinct(mentions.c.ref)))).scalar()
    return total, distinct


def test_ingest_scores_dedups_and_keeps_a_cursor(engine) -> None:  # noqa: ANN001
    storm = load_storm(engine, "digiorno", mentions_count=1200)
    channel = SandboxChannel(engine)
    first = ingest_channel(engine, channel, source="sandbox", account="DiGiorno", page_size=500)
    assert (first.pages, first.fetched, first.inserted, first.cursor) == (3, 1200, 1200, "1200")
    assert read_cursor(engine, source="sandbox", account="DiGiorno") == "1200"
    again = ingest_channel(engine, channel, source="sandbox", account="DiGiorno", page_size=500)
    assert (again.fetched, again.inserted) == (0, 0)

    # The same pages fetched again from the start (a lost cursor) add nothing either.
    with engine.begin() as connection:
        connection.execute(cursors.delete())
    replay = ingest_channel(engine, channel, source="sandbox", account="DiGiorno", page_size=500)
    assert (replay.fetched, replay.inserted) == (1200, 0)
    assert stored(engine) == (1200, 1200)

    found = mentions_in_window(engine, since=T0, until=T0 + timedelta(days=2), accounts=["DiGiorno"])
    assert len(found) == 1200
    assert [m.created_at for m in found] == sorted(m.created_at for m in found)
    sample = found[0]
    assert sample.platform == "x" and sample.account == "DiGiorno" and sample.in_reply_to in (None, storm.offending_ref)
    assert sample.kind == ("reply" if sample.in_reply_to else "mention")
    assert sample.language in ("en", "nl", "und") and -1 <= sample.sentiment <= 1
    negative = [m for m in found if m.negative]
    # The complaint model reads most of a storm as negative; the supportive minority is what stays out.
    assert 0.25 < len(negative) / len(found) < 0.95
    angry = [m for m in found if m.meta.get("tone") == "angry"]
    assert sum(m.negative for m in angry) / len(angry) > 0.7
    assert all(m.label == "negative" and m.needs_answer for m in negative)
    assert all(m.sentiment <= -0.05 for m in negative)


def test_mentions_in_window_filters(engine) -> None:  # noqa: ANN001
    storm = load_storm(engine, "digiorno", mentions_count=300)
    load_storm(engine, "red-cross", mentions_count=200)
    channel = SandboxChannel(engine)
    for account in ("DiGiorno", "RedCross"):
        ingest_channel(engine, channel, source="sandbox", account=account)
    wide = dict(since=datetime(2010, 1, 1), until=datetime(2015, 1, 1))
    assert len(mentions_in_window(engine, **wide)) == 500
    assert len(mentions_in_window(engine, accounts=["RedCross"], **wide)) == 200
    assert mentions_in_window(engine, platforms=["facebook"], **wide) == []
    answers = mentions_in_window(engine, in_reply_to=storm.offending_ref, **wide)
    assert answers and all(m.in_reply_to == storm.offending_ref for m in answers)
    first_hour = mentions_in_window(engine, accounts=["DiGiorno"], since=T0, until=T0 + timedelta(hours=1))
    assert first_hour and all(T0 <= m.created_at < T0 + timedelta(hours=1, seconds=1) for m in first_hour)
    assert len(mentions_in_window(engine, limit=7, **wide)) == 7


def test_a_window_ending_now_keeps_a_mention_from_earlier_in_the_same_second(engine) -> None:  # noqa: ANN001
    """The store keeps whole seconds; a reply step planning "until now" a moment after a mention
    arrived must still see it (it once left the storm's last person out)."""
    from runbook.listen.model import NewMention
    from runbook.listen.store import store_mentions

    second = datetime(2026, 12, 4, 9, 30, 15)
    store_mentions(
        engine,
        [
            NewMention("x", f"m{n}", "Brand", f"person{n}", "where is my bag?", second + timedelta(milliseconds=ms))
            for n, ms in enumerate((100, 700))
        ],
        source="test",
    )
    now = second + timedelta(milliseconds=800)
    found = mentions_in_window(engine, since=second - timedelta(hours=1), until=now)
    assert [m.ref for m in found] == ["m0", "m1"]
    assert mentions_in_window(engine, since=second - timedelta(hours=1), until=second) == []


def test_a_failure_between_fetch_and_commit_loses_nothing(engine) -> None:  # noqa: ANN001
    load_storm(engine, "digiorno", mentions_count=1200)
    channel = SandboxChannel(engine)
    pages = []

    def fail_on_second_page(connection, items) -> None:  # noqa: ANN001
        pages.append(len(items))
        if len(pages) == 2:
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        ingest_channel(
            engine, channel, source="sandbox", account="DiGiorno", page_size=500, before_commit=fail_on_second_page
        )
    assert stored(engine) == (500, 500)  # the first page committed, the second rolled back with its cursor
    assert read_cursor(engine, source="sandbox", account="DiGiorno") == "500"
    resumed = ingest_channel(engine, channel, source="sandbox", account="DiGiorno", page_size=500)
    assert (resumed.fetched, resumed.inserted) == (700, 700)
    assert stored(engine) == (1200, 1200)


def test_a_killed_process_between_fetch_and_commit_loses_nothing(sqlite_engine) -> None:  # noqa: ANN001
    engine = sqlite_engine
    load_storm(engine, "us-airways", mentions_count=1200)
    url = engine.url.render_as_string(hide_password=False)
    child = subprocess.run(
        [sys.executable, str(REPO / "tests/listen/crash_ingest.py"), url, "USAirways", "--die-on-page", "2"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 3, child.stderr
    assert stored(engine) == (500, 500)
    resumed = ingest_channel(engine, SandboxChannel(engine), source="sandbox", account="USAirways", page_size=500)
    assert resumed.inserted == 700
    assert stored(engine) == (1200, 1200)


def test_concurrent_ingesters_store_each_mention_once(engine) -> None:  # noqa: ANN001
    load_storm(engine, "red-cross", mentions_count=2000)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            ingest_channel(engine, SandboxChannel(engine), source="sandbox", account="RedCross", page_size=250)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert stored(engine) == (2000, 2000)
    assert read_cursor(engine, source="sandbox", account="RedCross") == "2000"
