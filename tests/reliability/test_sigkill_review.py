"""SIGKILL during a review ("apply") round: the approver grants the review, the worker applying it
is killed (with its flow process) after the first target's side effect, a new worker recovers the
run (its process is gone) and finishes the round. Each target's side effect happened once, the
sign-off is not asked again, and the audit chain verifies. Own Prefect server, own workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import REPO, settings_env, start_worker, stop_worker

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

HERE = Path(__file__).parent
PLUGIN = HERE / "plugin"


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_worker_killed_mid_apply_is_recovered_without_repeating_side_effects(tmp_path) -> None:  # noqa: ANN001
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from runbook.audit import events, get_incident, verify
    from runbook.engine.localserver import start_local_server
    from runbook.engine.prefect_io import view, wait_for_deployments
    from runbook.engine.services import build_services
    from runbook.settings import Settings

    server = start_local_server(prefect_home=tmp_path / "prefect", log=tmp_path / "server.log", timeout=300)
    runbook_env = settings_env(tmp_path)
    shutil.copy(HERE / "playbooks" / "t-review-kill.yaml", Path(runbook_env["RUNBOOK_PLAYBOOKS_DIR"]))
    env = {
        **os.environ,
        **runbook_env,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    services = build_services(
        Settings(**{k.removeprefix("RUNBOOK_").lower(): v for k, v in runbook_env.items()}), migrate=True
    )
    home = Path(runbook_env["RUNBOOK_HOME"])
    workers: list[subprocess.Popen] = []

    def worker() -> subprocess.Popen:
        workers.append(start_worker(env=env, cwd=tmp_path, log=tmp_path / f"worker-{len(workers)}.log"))
        return workers[-1]

    def wait(predicate, what: str, timeout: float = 120) -> None:  # noqa: ANN001
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            time.sleep(0.2)
        logs = "\n".join(
            (tmp_path / f"worker-{n}.log").read_text(errors="replace")[-3000:] for n in range(len(workers))
        )
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            first = worker()
            wait_for_deployments()
            started = _cli(["start", "t-review-kill", "--as", "ron"], env)
            assert started.returncode == 0, started.stderr
            incident = get_incident(services.db, started.stdout.strip().splitlines()[0])
            wait(lambda: view(incident.flow_run_id).waiting_for == "batch", "the review sign-off")
            approved = _cli(["approve", incident.slug, "batch", "--as", "alma"], env)
            assert approved.returncode == 0, approved.stderr
            attempts = home / "apply-attempts.log"
            wait(lambda: attempts.exists(), "the apply round to start")
            os.killpg(first.pid, 9)  # SIGKILL the worker and the flow process applying the review
            first.wait(timeout=10)
            assert attempts.read_text().splitlines() == [f"{incident.id}:batch:p1"]

            worker()  # finds the dead run (its pid is gone), reschedules it and runs it on
            wait(lambda: get_incident(services.db, incident.id).status in ("completed", "failed"), "the end", 180)

            closed = get_incident(services.db, incident.id)
            trail = events(services.db, incident.id)
            actions = [(e.action, e.step) for e in trail if e.action != "chat.posted"]
            assert closed.status == "completed", actions
            assert any(e.action == "flow.recovered" for e in trail)
            applied = [json.loads(line)["key"] for line in (home / "applied.jsonl").read_text().splitlines()]
            assert applied == [f"{incident.id}:batch:{t}" for t in ("p1", "p2", "p3")]  # each side effect once
            assert attempts.read_text().splitlines().count(f"{incident.id}:batch:p1") == 2  # interrupted, redone
            assert actions.count(("signoff.requested", "batch")) == 1  # not asked again
            assert actions.count(("signoff.granted", "batch")) == 1
            assert actions.count(("step.applied", "batch")) == 1
            assert verify(services.db, incident.id).ok
    finally:
        for process in workers:
            stop_worker(process)
        server.stop()
