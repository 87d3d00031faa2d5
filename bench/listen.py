"""Listening benchmark: prints the figures and writes bench/results/listen.json.

1. ingest + score: mentions fetched from the sandbox channel, language detected, sentiment scored
   and stored per second (target >= 5,000/s on SQLite);
2. spike check over 1,000,000 stored mentions (target < 1 s per check): the worst case puts all of
   them in one brand's 7-day baseline; the spread case spreads them over 20 brands and 30 days;
3. impact assessment of a 50,000-mention incident;
4. scoring throughput of the complaint model (the default analyser: language detection, VADER, the
   customer-care cues and the trained weights) beside plain VADER, on storm and customer-care texts
   (target >= 2,000 mentions/s on a 2-core machine).

Usage: .venv/bin/python bench/listen.py [--ingest N] [--stored N] [--incident N] [--scoring N] [--pg-url URL]
       .venv/bin/python bench/listen.py --only-scoring
Uses a temporary SQLite file (or the given PostgreSQL database, which must be empty).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402

TARGETS = {"ingest_per_s": 5000, "spike_check_s": 1.0, "scoring_per_s": 2000}
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _engine(url: str):  # noqa: ANN202
    from runbook.db import init_db, make_engine

    engine = make_engine(url)
    init_db(engine)
    return engine


def _url(pg_url: str | None, work: Path, name: str) -> str:
    """A fresh SQLite file per part; PostgreSQL: the one database given (parts use distinct brands)."""
    return pg_url or f"sqlite:///{work / name}.db"


def bench_ingest(engine, count: int) -> dict:  # noqa: ANN001
    from runbook.listen.ingest import ingest_channel
    from runbook.listen.sentiment import default_analyzer
    from runbook.sandbox import SandboxChannel, load_storm

    load_storm(engine, "us-airways", mentions_count=count, seed=11)
    default_analyzer()  # load VADER's lexicon before the clock starts
    began = time.perf_counter()
    result = ingest_channel(engine, SandboxChannel(engine), source="sandbox", account="USAirways", page_size=1000)
    seconds = time.perf_counter() - began
    began = time.perf_counter()
    again = ingest_channel(engine, SandboxChannel(engine), source="bench-replay", account="USAirways", page_size=1000)
    replay = time.perf_counter() - began
    return {
        "mentions": result.inserted,
        "seconds": round(seconds, 3),
        "per_s": round(result.inserted / seconds),
        "replay_inserted": again.inserted,
        "replay_per_s": round(again.fetched / replay),
    }


def _bulk_rows(count: int, *, brands: list[str], start: datetime, span: timedelta, seed: int):  # noqa: ANN202
    rng = random.Random(seed)
    seconds = int(span.total_seconds())
    base = int(start.timestamp())
    now = datetime.now(UTC)
    for i in range(count):
        epoch = base + rng.randrange(seconds)
        negative = rng.random() < 0.2
        yield {
            "platform": "x",
            "ref": f"bulk{seed}-{i}",
            "account": brands[i % len(brands)],
            "author": f"a{i % 50000}",
            "author_followers": rng.randrange(5000),
            "text": "bulk mention",
            "language": "en",
            "sentiment": -0.5 if negative else 0.3,
            "negative": int(negative),
            "epoch": epoch,
            "created_at": datetime.fromtimestamp(epoch, UTC),
            "in_reply_to": None,
            "url": None,
            "kind": "mention",
            "engagement": 0,
            "source": "bench",
            "ingested_at": now,
            "meta": {},
        }


def _load(engine, rows) -> int:  # noqa: ANN001
    from runbook.listen.tables import mentions

    total = 0
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 50_000:
            with engine.begin() as connection:
                connection.execute(mentions.insert(), batch)
            total += len(batch)
            batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(mentions.insert(), batch)
        total += len(batch)
    return total


def _time_checks(engine, pairs, repeats: int = 5) -> dict:  # noqa: ANN001
    from runbook.listen.spikes import check_spike

    times = []
    check = None
    for i in range(repeats):
        began = time.perf_counter()
        check = check_spike(engine, brand="bench", accounts=pairs, now=NOW - timedelta(minutes=7 * i))
        times.append(time.perf_counter() - began)
    return {
        "median_s": round(statistics.median(times), 4),
        "max_s": round(max(times), 4),
        "baseline_mentions": int(check.baseline_mean * check.baseline_windows),
        "window_volume": check.volume,
    }


def bench_spikes(pg_url: str | None, work: Path, stored: int) -> dict:
    from runbook.db import dispose_engines

    out: dict = {}
    engine = _engine(_url(pg_url, work, "worst"))
    began = time.perf_counter()
    out["stored"] = _load(
        engine,
        _bulk_rows(
            stored, brands=["Worst"], start=NOW - timedelta(days=7, hours=1), span=timedelta(days=7, hours=1), seed=1
        ),
    )
    out["load_seconds"] = round(time.perf_counter() - began, 1)
    if pg_url is not None:
        # Right after a bulk load PostgreSQL reads every fresh row (hint bits, no visibility map,
        # no statistics); autovacuum settles that soon after. Both figures are reported.
        out["right_after_bulk_load"] = _time_checks(engine, [("x", "Worst")])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE mention")
    out["worst_case_one_brand"] = _time_checks(engine, [("x", "Worst")])
    if pg_url is None:  # a second million in PostgreSQL would only make the table bigger
        dispose_engines()
        engine = _engine(_url(pg_url, work, "spread"))
        brands = [f"Brand{i}" for i in range(20)]
        _load(
            engine, _bulk_rows(stored, brands=brands, start=NOW - timedelta(days=30), span=timedelta(days=30), seed=2)
        )
        out["spread_20_brands_30_days"] = _time_checks(engine, [("x", "Brand7")])
    return out


def bench_assess(engine, count: int) -> dict:  # noqa: ANN001
    from runbook.listen.assess import assess
    from runbook.listen.ingest import ingest_channel
    from runbook.listen.simulate import Traffic, load_traffic
    from runbook.sandbox import SandboxChannel, load_storm
    from runbook.sandbox.scenarios import SCENARIOS

    t0 = datetime.fromisoformat(SCENARIOS["digiorno"].historic_start)
    load_traffic(engine, Traffic(account="DiGiorno", per_hour=20), start=t0 - timedelta(days=8), end=t0)
    storm = load_storm(engine, "digiorno", mentions_count=count, seed=5)
    ingest_channel(engine, SandboxChannel(engine), source="sandbox", account="DiGiorno", page_size=2000)
    times = []
    result = None
    for _ in range(3):
        began = time.perf_counter()
        result = assess(
            engine,
            accounts=[("x", "DiGiorno")],
            since=t0,
            until=t0 + timedelta(days=1),
            offending_ref=storm.offending_ref,
            channel=SandboxChannel(engine),
        )
        times.append(time.perf_counter() - began)
    return {
        "incident_mentions": result.volume,
        "median_s": round(statistics.median(times), 3),
        "severity": result.severity,
        "factors": result.factor_points,
    }


def bench_scoring(count: int) -> dict:
    """Mentions scored per second, text to verdict, single-threaded (what ingestion does per row)."""
    import csv

    from runbook.listen.complaint import default_complaint_analyzer
    from runbook.listen.language import detect_language
    from runbook.listen.sentiment import lexicon_analyzer
    from runbook.sandbox.storm import generate

    texts = [m.text for m in generate("us-airways", mentions_count=count // 2, seed=3)]
    for name in ("care_en", "care_nl", "care_en_holdout"):
        with (ROOT / "tests" / "listen" / "data" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    texts = (texts * (count // len(texts) + 1))[:count]
    model, vader = default_complaint_analyzer(), lexicon_analyzer()
    model.assess("warm up", "en")  # load the weights and VADER's lexicon before the clock starts
    out = {"mentions": count}
    for name, score in (("model", lambda t, lang: model.assess(t, lang)), ("vader", vader.score)):
        began, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            score(text, detect_language(text))
        out[f"{name}_per_s"] = round(count / (time.perf_counter() - began))
        # Per CPU second of this process: what a core gives when other work shares the machine.
        out[f"{name}_per_cpu_s"] = round(count / max(time.process_time() - cpu, 1e-9))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest", type=int, default=50_000)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--incident", type=int, default=50_000)
    parser.add_argument("--scoring", type=int, default=20_000)
    parser.add_argument("--only-scoring", action="store_true", help="Measure scoring throughput only")
    parser.add_argument("--pg-url", default=None, help="An empty PostgreSQL database (default: SQLite files)")
    args = parser.parse_args()
    from runbook.db import dispose_engines

    results: dict = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "database": "postgresql" if args.pg_url else "sqlite",
        "targets": TARGETS,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results["scoring"] = sc = bench_scoring(args.scoring)
    print(
        f"scoring: {sc['model_per_s']} mentions/s with the complaint model (target >= {TARGETS['scoring_per_s']}/s), "
        f"{sc['model_per_cpu_s']} per CPU second; plain VADER {sc['vader_per_s']}/s, {sc['vader_per_cpu_s']} per CPU "
        "second",
        flush=True,
    )
    if args.only_scoring:
        write_results(ROOT / "bench" / "results" / "listen-scoring.json", results)
        return
    with tempfile.TemporaryDirectory(prefix="runbook-bench-listen-") as tmp:
        work = Path(tmp)
        # Each stage below runs, prints its own line and frees its engines before the next: alike in
        # layout, but the figures and the wording of each line are the stage's own.
        results["ingest"] = bench_ingest(_engine(_url(args.pg_url, work, "ingest")), args.ingest)
        i = results["ingest"]
        print(
            f"ingest + score: {i['mentions']} mentions at {i['per_s']}/s (target >= {TARGETS['ingest_per_s']}/s); "
            f"the same pages again: {i['replay_per_s']}/s, {i['replay_inserted']} inserted",
            flush=True,
        )
        dispose_engines()
        results["spikes"] = bench_spikes(args.pg_url, work, args.stored)
        s = results["spikes"]
        print(
            f"spike check over {s['stored']:,} stored mentions (loaded in {s['load_seconds']}s): worst case (all in "
            f"one brand's 7-day baseline) median {s['worst_case_one_brand']['median_s']}s, "
            f"max {s['worst_case_one_brand']['max_s']}s (target < {TARGETS['spike_check_s']}s)",
            flush=True,
        )
        if "right_after_bulk_load" in s:
            print(
                f"  PostgreSQL right after the bulk load, before VACUUM ANALYZE: median "
                f"{s['right_after_bulk_load']['median_s']}s",
                flush=True,
            )
        if "spread_20_brands_30_days" in s:
            print(
                f"  spread over 20 brands and 30 days: median {s['spread_20_brands_30_days']['median_s']}s", flush=True
            )
        dispose_engines()
        # The assessment stage, laid out like the ingest stage above (see there).
        results["assess"] = bench_assess(_engine(_url(args.pg_url, work, "assess")), args.incident)
        a = results["assess"]
        print(
            f"assessment of a {a['incident_mentions']:,}-mention incident: median {a['median_s']}s "
            f"(severity {a['severity']})",
            flush=True,
        )
        dispose_engines()
    write_results(ROOT / "bench" / "results" / ("listen.json" if not args.pg_url else "listen-postgres.json"), results)


if __name__ == "__main__":
    main()
