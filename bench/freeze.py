"""Post queue benchmark: freeze latency by queue size, `runbook start` to frozen, thaw reconciliation
of 10,000 posts, pre-publish check throughput. Prints the figures and writes bench/results/freeze.json.

    .venv/bin/python bench/freeze.py [--sizes 100,1000,10000,100000] [--no-postgres]

Freeze latency is measured to the commit (the moment nothing in scope can publish any more);
the audit append that follows is reported separately. Targets: < 100 ms for 10,000 posts on
SQLite; `runbook start` to frozen < 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402
from runbook import audit  # noqa: E402
from runbook.audit.models import as_utc  # noqa: E402
from runbook.checks import Checker, Draft  # noqa: E402
from runbook.db import dispose_engines, init_db, make_engine  # noqa: E402
from runbook.queue import apply_thaw, freeze_now, propose_thaw  # noqa: E402
from runbook.queue.jobs import JobBook  # noqa: E402
from runbook.queue.tables import posts  # noqa: E402
from runbook.queue.times import utcnow  # noqa: E402

PG_ADMIN = os.environ.get("RUNBOOK_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXTS = [
    "Our autumn menu is here: pumpkin soup, fresh bread and more. Come taste it! https://brand.example/menu",
    "Thanks @sam_b for the lovely photo of our store #BrandLove",
    "New opening hours from Monday: 8 to 20, every day of the week.",
    "Flash sale! 50% off everything today 🎉",
    "Meet the team behind our new recipes, in a short video on our site.",
]


def fill(engine: sa.Engine, n: int, *, overdue_share: float = 0.0, other: int = 0) -> None:
    """n scheduled posts on account 'brand' (+ `other` on 'careers'), written directly in bulk."""
    now = utcnow()
    rows = []
    for i in range(n + other):
        due = now - timedelta(minutes=5) if i < n * overdue_share else now + timedelta(minutes=10 + i % 5000)
        rows.append(
            {
                "id": uuid.uuid4().hex[:12],
                "account": "brand" if i < n else "careers",
                "platform": "x",
                "text": TEXTS[i % len(TEXTS)],
                "media": [],
                "language": "en",
                "author": "sam",
                "run_at": due,
                "status": "scheduled",
                "freeze_id": None,
                "findings": [],
                "reviewed_by": None,
                "reviewed_rules": None,
                "ref": None,
                "error": None,
                "source": None,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "publishing_at": None,
                "published_at": None,
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(posts.insert(), rows[start : start + 10_000])


def new_incident(engine: sa.Engine) -> str:
    return audit.create_incident(
        engine, playbook_id="social-media-mistake", playbook_version=1, inputs={}, requester="ana", title="bench"
    ).id


class Databases:
    def __init__(self, use_pg: bool) -> None:
        self.use_pg = use_pg
        self.tmp = Path(tempfile.mkdtemp(prefix="runbook-bench-"))
        self.pg_names: list[str] = []

    def fresh(self, backend: str) -> tuple[str, sa.Engine]:
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp / (uuid.uuid4().hex[:8] + '.db')}"
        else:
            import psycopg

            name = f"runbook_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            self.pg_names.append(name)
            url = (
                sa.make_url(PG_ADMIN)
                .set(drivername="postgresql+psycopg", database=name)
                .render_as_string(hide_password=False)
            )
        engine = make_engine(url)
        init_db(engine)
        return url, engine

    def close(self) -> None:
        dispose_engines()
        if self.pg_names:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                for name in self.pg_names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


def bench_freeze(dbs: Databases, backend: str, sizes: list[int]) -> list[dict]:
    out = []
    for n in sizes:
        _, engine = dbs.fresh(backend)
        fill(engine, n, other=max(1, n // 10))
        incident = new_incident(engine)
        started = time.perf_counter()
        result = freeze_now(
            engine, incident_id=incident, actor="ana", channel="cli", accounts=["brand"], reason="bench"
        )
        total_ms = (time.perf_counter() - started) * 1000
        assert result.frozen == n
        row = {
            "backend": backend,
            "posts": n,
            "out_of_scope": max(1, n // 10),
            "commit_ms": result.commit_ms,
            "with_audit_ms": round(total_ms, 1),
        }
        out.append(row)
        print(f"  freeze {backend:8} {n:>7} posts: {result.commit_ms:8.1f} ms to commit, {total_ms:8.1f} ms with audit")
    return out


START_SCRIPT = r"""
import sys, time
t0 = float(sys.argv[1])
from pathlib import Path
from runbook.engine.commands import start
if sys.argv[6] == "no-prefect-import":
    # What start costs once the engine's Recorder stops importing Prefect outside a flow run
    # (runbook/engine/record.py: prefect_ids() imports prefect.context, ~0.6 s, on first append).
    import runbook.engine.record
    runbook.engine.record.prefect_ids = lambda: {}
from runbook.engine.services import build_services
from runbook.settings import Settings
settings = Settings(home=Path(sys.argv[2]), database_url=sys.argv[3], playbooks_dir=Path(sys.argv[4]),
                    roster=Path(sys.argv[5]), templates_dir=Path(sys.argv[4]))
services = build_services(settings, migrate=True)
started = start(services=services, playbook_ref="freeze-first", inputs={"summary": "Offensive reply"},
                requester="ana", create_run=False)
print(started.incident.id)
"""

# Starts like the playbook of tests/queue/test_start_freezes.py, but its own: a freeze then a decision.
PLAYBOOK = """\
id: freeze-first
title: Freeze first
roles: [comms_lead]
inputs:
  summary: {type: text, required: true}
steps:
  - id: freeze
    uses: freeze_posts
    with: {reason: "{{ inputs.summary }}"}
  - id: assess
    uses: decide
    with: {options: [low, high]}
    signoff: {roles: [comms_lead]}
"""


def bench_start(dbs: Databases, queue_size: int, runs: int = 3, variant: str = "as-is") -> dict:
    """A fresh Python process does what `runbook start` does up to launching the flow run (no
    Prefect server needed: create_run=False): load settings, roster and playbook, create the
    incident, run the immediate freeze. Measured from just before the process is spawned to the
    freeze's recorded commit time."""
    folder = dbs.tmp / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "freeze-first.yaml").write_text(PLAYBOOK, encoding="utf-8")
    figures = []
    for _ in range(runs):
        url, engine = dbs.fresh("sqlite")
        fill(engine, queue_size)
        t0 = time.time()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                START_SCRIPT,
                str(t0),
                str(dbs.tmp / "home"),
                url,
                str(folder),
                str(ROOT / "roster.yaml"),
                variant,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        exited = time.time()
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        incident = done.stdout.strip().splitlines()[-1]
        with engine.connect() as connection:
            created = connection.execute(
                sa.text("SELECT created_at FROM queue_freeze WHERE incident_id = :i"), {"i": incident}
            ).scalar()
        created_at = as_utc(datetime.fromisoformat(str(created)))
        figures.append({"to_freeze_s": round(created_at.timestamp() - t0, 3), "process_s": round(exited - t0, 3)})
    best = min(f["to_freeze_s"] for f in figures)
    print(
        f"  runbook start -> frozen ({queue_size} posts, fresh process, engine {variant}): "
        + ", ".join(f"{f['to_freeze_s']:.2f} s (process exits at {f['process_s']:.2f} s)" for f in figures)
    )
    return {"queue_size": queue_size, "engine": variant, "runs": figures, "best_to_freeze_s": best}


def bench_thaw(dbs: Databases, backend: str, n: int = 10_000) -> dict:
    _, engine = dbs.fresh(backend)
    fill(engine, n, overdue_share=0.5)
    freeze = freeze_now(engine, incident_id=new_incident(engine), actor="ana", channel="cli")
    checker = Checker(links=False)
    started = time.perf_counter()
    plan = propose_thaw(engine, freeze.id, actor="ana", channel="cli", checker=checker)
    propose_s = time.perf_counter() - started
    jobs = JobBook(engine)
    started = time.perf_counter()
    applied = apply_thaw(engine, plan.id, approver="bram", channel="cli", jobs=jobs)
    apply_s = time.perf_counter() - started
    jobs.close()
    with engine.connect() as connection:
        job_rows = connection.execute(sa.text("SELECT count(*) FROM apscheduler_jobs")).scalar()
    row = {
        "backend": backend,
        "posts": n,
        "proposal_s": round(propose_s, 2),
        "apply_s": round(apply_s, 2),
        "proposed": plan.counts(),
        "outcomes": applied.counts("outcome"),
        "jobs_written": job_rows,
    }
    print(
        f"  thaw {backend:8} {n} posts: reconciliation list {propose_s:.2f} s {plan.counts()}, "
        f"apply {apply_s:.2f} s ({job_rows} jobs written, per-post audit included)"
    )
    return row


def bench_checks(count: int = 20_000) -> dict:
    checker = Checker(links=False)
    drafts = [Draft(account="brand", platform="x", text=TEXTS[i % len(TEXTS)] + f" {i}") for i in range(count)]
    checker.check(drafts[0])  # load packs and the dictionary first
    started = time.perf_counter()
    for draft in drafts:
        checker.check(draft)
    rate = count / (time.perf_counter() - started)
    print(f"  pre-publish checks (links off): {rate:,.0f} posts/s")
    return {"posts": count, "posts_per_s": round(rate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    use_pg = not args.no_postgres and pg_reachable()
    dbs = Databases(use_pg)
    results: dict = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "postgres": use_pg,
    }
    try:
        print("freeze latency (one transaction, no APScheduler calls):")
        results["freeze"] = bench_freeze(dbs, "sqlite", sizes)
        if use_pg:
            results["freeze"] += bench_freeze(dbs, "postgres", sizes)
        print("time from `runbook start` to queue frozen:")
        results["start_to_frozen"] = [bench_start(dbs, 10_000), bench_start(dbs, 10_000, variant="no-prefect-import")]
        print("thaw reconciliation:")
        results["thaw"] = [bench_thaw(dbs, "sqlite")] + ([bench_thaw(dbs, "postgres")] if use_pg else [])
        print("checks:")
        results["checks"] = bench_checks()
    finally:
        dbs.close()
    write_results(ROOT / "bench" / "results" / "freeze.json", results)


if __name__ == "__main__":
    main()
