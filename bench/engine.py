"""Engine benchmark: prints the figures and writes bench/results/engine.json.

1. per-step overhead: an engine step (a task with persisted result, audit, artifacts) against a
   bare Prefect task doing the same kind's work, in the same flow run, medians (target <= 1.5x);
2. `approve` returning -> the approved step starting, through suspend/resume and a worker
   (target < 3 s; the floor is a flow process start);
3. `start` -> the first step running, with a warm worker (target < 4 s);
4. task runs per incident: the gates incident of (2), resumed once per sign-off, against its
   steps + sign-offs (target <= 2x: a resumed run replays its finished steps without task runs).

Usage: .venv/bin/python bench/engine.py [--steps N] [--gates N] [--starts N]
Starts its own Prefect server (SQLite, temp dir) and worker; uses roster.yaml of the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {
    "step_overhead_ratio": 1.5,
    "approve_to_next_step_s": 3.0,
    "start_to_first_step_s": 4.0,
    "task_runs_per_step_and_signoff": 2.0,
}

STEPS_PLAYBOOK = """
id: bench-steps
title: Bench steps
roles: [comms_lead]
steps:
{steps}
"""
GATES_PLAYBOOK = """
id: bench-gates
title: Bench gates
roles: [comms_lead]
steps:
{steps}
"""


def _settings_env(work: Path) -> dict[str, str]:
    playbooks = work / "playbooks"
    playbooks.mkdir(parents=True, exist_ok=True)
    return {
        "RUNBOOK_HOME": str(work / "home"),
        "RUNBOOK_DATABASE_URL": f"sqlite:///{work / 'home' / 'runbook.db'}",
        "RUNBOOK_ROSTER": str(ROOT / "roster.yaml"),
        "RUNBOOK_PLAYBOOKS_DIR": str(playbooks),
        "RUNBOOK_TEMPLATES_DIR": str(ROOT / "templates"),
    }


def _write_playbooks(work: Path, *, steps: int, gates: int) -> None:
    body = "\n".join(f"  - {{id: s{n}, uses: notify, with: {{message: 'step {n}'}}}}" for n in range(steps))
    (work / "playbooks" / "bench-steps.yaml").write_text(STEPS_PLAYBOOK.format(steps=body))
    body = "\n".join(
        f"  - {{id: g{n}, uses: notify, with: {{message: 'gate {n}'}}, signoff: {{roles: [comms_lead]}}}}"
        for n in range(gates)
    )
    (work / "playbooks" / "bench-gates.yaml").write_text(GATES_PLAYBOOK.format(steps=body))


def measure_step_overhead(*, services, steps: int) -> dict:
    """Runs in this process: one flow run executes `steps` bare tasks, then `steps` engine steps."""
    from prefect import flow, task

    from runbook.audit import create_incident
    from runbook.engine.context import Run, enter, leave
    from runbook.engine.replay import call
    from runbook.engine.runlog import LoggingRecorder as Recorder
    from runbook.engine.runner import _step_options, load_plan, run_step, run_step_task
    from runbook.plan import Plan
    from runbook.ports.chat import ConsoleChat
    from runbook.steps.base import StepContext

    incident = create_incident(
        services.db, playbook_id="bench-steps", playbook_version=1, inputs={}, requester="ana", title="bench steps"
    )
    kind = services.kinds["notify"]
    quiet = open(os.devnull, "w")

    @task(persist_result=True)
    def bare(n: int) -> dict:
        # The kind's own work, as a plain Prefect task: render, post (in-memory chat), validate.
        ctx = StepContext(
            incident_id=incident.id,
            incident_slug=incident.slug,
            requester="ana",
            step_id=f"s{n}",
            inputs={},
            steps={},
            audit=lambda *a, **k: None,
            chat=ConsoleChat(out=quiet),
            services=services.step_services(),
        )
        return kind.run(ctx, kind.params.model_validate({"message": f"step {n}"})).model_dump(mode="json")

    @flow(name="bench-step-overhead", persist_result=True)
    def bench() -> dict:
        plan = Plan.model_validate(load_plan(once="plan", incident_id=incident.id))
        run = Run(
            services=services,
            incident=incident,
            plan=plan,
            chat=services.chat(incident.id),
            record=Recorder(db=services.db, incident_id=incident.id),
        )
        token = enter(run)
        try:
            bare(-1)
            # Exactly the flow's path for a step (runner._run_steps): `call`, with the step's options.
            call(
                run_step,
                name="warm",
                once="warm",
                options=_step_options(plan.steps[0], "step"),
                step_id="s0",
                decision=None,
            )
            # Interleaved, one of each in turn, so that a noisy moment hits both alike.
            bare_times, engine_times = [], []
            for n, step in enumerate(plan.steps[1:]):
                t0 = time.perf_counter()
                bare(n)
                t1 = time.perf_counter()
                run_step_task(step, None)
                t2 = time.perf_counter()
                bare_times.append(t1 - t0)
                engine_times.append(t2 - t1)
        finally:
            leave(token)
        return {"bare_ms": statistics.median(bare_times) * 1000, "engine_ms": statistics.median(engine_times) * 1000}

    result = bench()
    result["ratio"] = result["engine_ms"] / result["bare_ms"]
    return result


def _step_started(services, incident_id: str, step: str):
    from runbook.audit import events

    for event in events(services.db, incident_id):
        if event.action == "step.started" and event.step == step:
            return event.ts
    return None


def _wait(predicate, timeout: float = 120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("benchmark step did not happen in time")


def count_task_runs(flow_run_id: str) -> int:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return len(client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))))


def measure_approve_latency(*, services, gates: int) -> tuple[list[float], dict]:
    from runbook.audit import events
    from runbook.engine import commands

    started = commands.start(
        services=services, playbook_ref="bench-gates", inputs={}, requester="sam", title="bench gates"
    )
    incident = started.incident
    latencies = []
    for n in range(gates):
        _wait(
            lambda: any(e.action == "signoff.requested" and e.step == f"g{n}" for e in events(services.db, incident.id))
        )
        commands.approve(services=services, incident_ref=incident.id, step_id=f"g{n}", person="ana", wait=60)
        returned = datetime.now(UTC)
        began = _wait(lambda: _step_started(services, incident.id, f"g{n}"))
        latencies.append((began - returned).total_seconds())
    from runbook.audit import get_incident

    done = _wait(lambda: (i := get_incident(services.db, incident.id)).status == "completed" and i)
    # Task runs reach the server as events a moment after they ran: count once the number settles.
    runs, end = -1, time.monotonic() + 30
    while time.monotonic() < end:
        time.sleep(1.0)
        now = count_task_runs(done.flow_run_id)
        if now == runs:
            break
        runs = now
    return latencies, {
        "steps": gates,
        "signoffs": gates,
        "resumes": gates,
        "task_runs": runs,
        "per_step_and_signoff": round(runs / (2 * gates), 2),
    }


def measure_start_latency(*, services, starts: int) -> list[float]:
    from runbook.engine import commands

    out = []
    for n in range(starts):
        called = datetime.now(UTC)
        started = commands.start(
            services=services, playbook_ref="bench-steps", inputs={}, requester="ana", title=f"bench start {n}"
        )
        began = _wait(lambda: _step_started(services, started.incident.id, "s0"))
        out.append((began - called).total_seconds())
        from runbook.audit import get_incident

        _wait(lambda: get_incident(services.db, started.incident.id).status == "completed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--gates", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="runbook-bench-engine-"))
    env = _settings_env(work)
    os.environ.update(env)
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    _write_playbooks(work, steps=args.steps + 1, gates=args.gates)

    from runbook.engine.demo import _start_worker, _stop
    from runbook.engine.localserver import start_local_server
    from runbook.engine.prefect_io import wait_for_deployments
    from runbook.engine.services import build_services

    t = time.perf_counter()
    server = start_local_server(prefect_home=work / "prefect", log=work / "server.log")
    server_s = time.perf_counter() - t
    os.environ["PREFECT_API_URL"] = server.api_url
    services = build_services(migrate=True)
    worker = None
    try:
        t = time.perf_counter()
        worker = _start_worker(services, server.api_url, work / "worker.log")
        wait_for_deployments()
        worker_s = time.perf_counter() - t
        overhead = measure_step_overhead(services=services, steps=args.steps)
        starts = measure_start_latency(services=services, starts=args.starts)
        approvals, replay = measure_approve_latency(services=services, gates=args.gates)
    finally:
        _stop(worker)
        server.stop()

    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "prefect_server_start_s": round(server_s, 2),
        "worker_ready_s": round(worker_s, 2),
        "step_overhead": {
            "steps": args.steps,
            "bare_task_ms": round(overhead["bare_ms"], 1),
            "engine_step_ms": round(overhead["engine_ms"], 1),
            "ratio": round(overhead["ratio"], 2),
        },
        "approve_to_next_step_s": {
            "samples": [round(x, 2) for x in approvals],
            "median": round(statistics.median(approvals), 2),
            "max": round(max(approvals), 2),
        },
        "start_to_first_step_s": {
            "samples": [round(x, 2) for x in starts],
            "median": round(statistics.median(starts), 2),
            "max": round(max(starts), 2),
        },
        "task_runs_per_incident": replay,
        "targets": TARGETS,
    }
    out = ROOT / "bench" / "results" / "engine.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    so = results["step_overhead"]
    print(
        f"per-step: bare Prefect task {so['bare_task_ms']} ms, engine step {so['engine_step_ms']} ms "
        f"-> {so['ratio']}x (target <= {TARGETS['step_overhead_ratio']}x)"
    )
    a = results["approve_to_next_step_s"]
    print(
        f"approve -> next step: median {a['median']} s, max {a['max']} s (target < {TARGETS['approve_to_next_step_s']} s)"
    )
    s = results["start_to_first_step_s"]
    print(
        f"start -> first step (warm worker): median {s['median']} s, max {s['max']} s "
        f"(target < {TARGETS['start_to_first_step_s']} s)"
    )
    r = results["task_runs_per_incident"]
    print(
        f"task runs per incident: {r['task_runs']} for {r['steps']} steps + {r['signoffs']} sign-offs, "
        f"{r['resumes']} resumes -> {r['per_step_and_signoff']}x (target <= {TARGETS['task_runs_per_step_and_signoff']}x)"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
