"""Audit-trail benchmark: append and verify rates; prints them and writes bench/results/audit.json.

Usage: .venv/bin/python bench/audit.py [--appends N] [--verify-events N] [--no-postgres]
PostgreSQL is measured on a throw-away database of the local server (skipped with a note if absent).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402
from runbook import audit  # noqa: E402
from runbook.db import dispose_engines, init_db, make_engine  # noqa: E402

TARGETS = {"append_events_per_s_sqlite": 2_000, "verify_events_per_s_sqlite": 100_000}
PG_ADMIN_URL = os.environ.get("RUNBOOK_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _incident(engine) -> audit.Incident:  # noqa: ANN001
    return audit.create_incident(
        engine, playbook_id="bench", playbook_version=1, inputs={}, requester="U-bench", title="bench"
    )


def _append(engine, incident_id: str, n: int) -> None:  # noqa: ANN001
    # Not tests/audit/audit_helpers.fill(): this payload and actor mix are what the figures were measured on.
    for i in range(n):
        audit.append(
            engine,
            incident_id=incident_id,
            actor="U-alice" if i % 3 else "system",
            channel="slack" if i % 3 else "flow",
            action="step.completed",
            step=f"step-{i % 12}",
            details={"i": i, "post": f"p-{i}", "note": "reply sent to the affected person"},
        )


def _rate(n: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def append_rate(url: str, n: int) -> float:
    engine = make_engine(url)
    init_db(engine)
    incident = _incident(engine)
    _append(engine, incident.id, 50)  # warm up connections and statement caches
    return _rate(n, lambda: _append(engine, incident.id, n))


@contextmanager
def postgres_database() -> Iterator[str | None]:
    import psycopg
    import sqlalchemy as sa

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc).strip().splitlines()[0]}")
        yield None
        return
    name = f"runbook_audit_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    finally:
        dispose_engines()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def verify_rate(url: str, total: int, incidents: int = 10) -> float:
    engine = make_engine(url)
    init_db(engine)
    for _ in range(incidents):
        incident = _incident(engine)
        _append(engine, incident.id, total // incidents)
        audit.checkpoint(engine, incident.id, reason="bench")
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        report = audit.verify(engine)
        elapsed = time.perf_counter() - start
        assert report.ok and report.checked == total, report
        best = max(best, total / elapsed)
    return best


def check_seconds_per_playbook(notes: list[str]) -> float | None:
    """Wall time of `runbook check playbooks/` (a fresh process, imports included) per playbook."""
    playbooks = sorted(p for p in (ROOT / "playbooks").glob("*") if p.suffix in {".yaml", ".yml"})
    if not playbooks:
        return None
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "check", "playbooks/"], cwd=ROOT, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        notes.append(f"`runbook check playbooks/` exited {done.returncode}; its time is still recorded")
    return round(elapsed / len(playbooks), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5_000, help="events appended per backend")
    parser.add_argument("--verify-events", type=int, default=100_000, help="events verified on SQLite")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit.json")
    args = parser.parse_args()

    notes: list[str] = []
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["append_events_per_s_sqlite"] = round(append_rate(f"sqlite:///{tmp}/append.db", args.appends))
        results["verify_events_per_s_sqlite"] = round(verify_rate(f"sqlite:///{tmp}/verify.db", args.verify_events))
    results["append_events_per_s_postgres"] = None
    if args.no_postgres:
        notes.append("PostgreSQL not measured (--no-postgres)")
    else:
        with postgres_database() as pg_url:
            if pg_url is None:
                notes.append("PostgreSQL not measured: no server reachable")
            else:
                results["append_events_per_s_postgres"] = round(append_rate(pg_url, args.appends))
                notes.append("PostgreSQL append commits each event (synchronous_commit as configured)")
    results["check_seconds_per_playbook"] = check_seconds_per_playbook(notes)

    report = {
        **results,
        "appends": args.appends,
        "verify_events": args.verify_events,
        "targets": TARGETS,
        "meets_targets": {key: (results[key] or 0) >= target for key, target in TARGETS.items()},
        "notes": notes,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_results(args.out, report)
    for key, value in results.items():
        print(f"{key:32} {value}")
    for note in notes:
        print(f"note: {note}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
