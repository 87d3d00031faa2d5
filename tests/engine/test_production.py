"""Production mode on real PostgreSQL: a Prefect server and our tables on PostgreSQL, worker
processes, `runbook start` and `runbook approve` from separate processes. The worker (and its
flow processes) is SIGKILLed twice: while the run waits for sign-off (the sign-off is given while
it is down) and in the middle of a side-effecting step. Each time a new worker finishes the run,
and no side effect happens twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from .conftest import PLUGIN, REPO, settings_env, start_worker, wait_for_deployments

pytestmark = [pytest.mark.prefect, pytest.mark.postgres, pytest.mark.slow]

PG = "postgres@127.0.0.1:5432"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{PG}/test", autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


@pytest.fixture
def databases():
    try:
        _admin("select 1")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {PG}: {exc}")
    suffix = uuid.uuid4().hex[:8]
    names = (f"rb_prefect_{suffix}", f"rb_app_{suffix}")
    for name in names:
        _admin(f"create database {name}")
    yield names
    from runbook.db import dispose_engines

    dispose_engines()
    for name in names:
        _admin(f"drop database if exists {name} with (force)")


def _kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_runs_survive_sigkilled_workers_without_repeating_side_effects(databases, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from runbook.audit import events as read_events
    from runbook.audit import get_incident, verify
    from runbook.engine.localserver import start_local_server
    from runbook.engine.prefect_io import view
    from runbook.engine.services import build_services
    from runbook.settings import Settings

    prefect_db, app_db = databases
    server = start_local_server(
        prefect_home=tmp_path / "prefect",
        log=tmp_path / "server.log",
        env={"PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{PG}/{prefect_db}"},
    )
    runbook_env = {**settings_env(tmp_path), "RUNBOOK_DATABASE_URL": f"postgresql+psycopg://{PG}/{app_db}"}
    env = {
        **os.environ,
        **runbook_env,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    upgraded = _cli(["db", "upgrade"], env)  # the owner's step; every other command only checks
    assert upgraded.returncode == 0, upgraded.stderr
    services = build_services(
        Settings(**{k.removeprefix("RUNBOOK_").lower(): v for k, v in runbook_env.items()}), migrate=True
    )
    home = tmp_path / "home"
    workers: list[subprocess.Popen] = []

    def worker() -> subprocess.Popen:
        workers.append(start_worker(env=env, cwd=tmp_path, log=tmp_path / f"worker-{len(workers)}.log"))
        return workers[-1]

    def trail(incident):
        return [e for e in read_events(services.db, incident.id)]

    def wait(predicate, what: str, timeout: float = 90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            time.sleep(0.3)
        logs = "\n".join(
            (tmp_path / f"worker-{n}.log").read_text(errors="replace")[-3000:] for n in range(len(workers))
        )
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            first = worker()
            wait_for_deployments()
            started = _cli(["start", "t-effect", "--as", "ron"], env)
            assert started.returncode == 0, started.stderr
            incident = get_incident(services.db, started.stdout.strip().splitlines()[0])
            wait(lambda: any(e.action == "signoff.requested" for e in trail(incident)), "the sign-off request")
            wait(lambda: view(incident.flow_run_id).waiting_for == "approve-it", "the suspend")

            # 1. The worker dies while the run waits; the approval arrives while no worker runs.
            _kill_group(first)
            approved = _cli(["approve", incident.slug, "approve-it", "--as", "alma", "--comment", "while down"], env)
            assert approved.returncode == 0, approved.stderr
            assert view(incident.flow_run_id).state_type == "SCHEDULED"  # resumed, waiting for a worker

            # 2. A new worker runs it on; it dies in the middle of the side-effecting step.
            second = worker()
            wait(lambda: (home / "attempts.log").exists(), "the side effect to start")
            _kill_group(second)
            assert view(incident.flow_run_id).state_type == "RUNNING"  # nobody will finish it by itself

            # 3. A third worker finds the dead run (its process is gone), reschedules and completes it.
            worker()
            wait(lambda: get_incident(services.db, incident.id).status in ("completed", "failed"), "the end", 150)

            closed = get_incident(services.db, incident.id)
            events = trail(incident)
            actions = [(e.action, e.step) for e in events if e.action != "chat.posted"]
            assert closed.status == "completed", actions
            assert [e.actor for e in events if e.action == "signoff.approved"] == ["alma"]
            assert next(e for e in events if e.action == "signoff.approved").details["comment"] == "while down"
            assert any(e.action == "flow.recovered" for e in events)
            # The interrupted step ran twice; its side effect happened once (idempotent at the target).
            assert actions.count(("step.started", "effect")) == 2
            assert actions.count(("step.finished", "effect")) == 1
            assert (home / "attempts.log").read_text().splitlines() == [f"{incident.id}:effect:customer-1"] * 2
            ledger = [json.loads(line) for line in (home / "effects.jsonl").read_text().splitlines()]
            assert [row["key"] for row in ledger] == [f"{incident.id}:effect:customer-1"]
            # Steps before the kills were not repeated, nor any message.
            assert actions.count(("step.finished", "approve-it")) == 1
            keys = [e.details["key"] for e in events if e.action == "chat.posted"]
            assert len(keys) == len(set(keys))
            assert verify(services.db, incident.id).ok
    finally:
        for process in workers:
            if process.poll() is None:
                _kill_group(process)
        server.stop()
