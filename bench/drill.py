"""Drill benchmark: prints the figures and writes bench/results/drill.json.

1. simulated public throughput: mentions generated per second while reacting to a team (the
   textbook policy's freeze, statement and personal replies), per shipped scenario and with every
   audience ten times larger; and actions reacted to per second;
2. wall time of a full `--auto textbook` drill of the US Airways scenario at `--speed 60` on a local
   Prefect server and worker (skip with --no-live): from start to a scored, closed drill.

Usage: .venv/bin/python bench/drill.py [--seed N] [--no-live] [--scale N]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402

# A live drill needs the public to keep pace with the clock: a 6-hour storm of a few thousand
# mentions at --speed 60 is ~10 mentions a second, so 1,000/s leaves room for 100 times that.
TARGETS = {"mentions_per_s": 1_000, "auto_drill_speed60_s": 180}


def throughput(seed: int, scale: int) -> dict:
    from runbook.drill.policy import find_policy, load_policy, play_offline
    from runbook.drill.public import Judge, simulate
    from runbook.drill.scenario import load_scenario, scenario_files

    out = {}
    for path in scenario_files():
        scenario = load_scenario(path)
        judge = Judge(scenario.language)
        _, actions = play_offline(scenario, load_policy(find_policy("textbook")), seed=seed, judge=judge)
        for label, sc in (
            ("x1", scenario),
            (
                f"x{scale}",
                scenario.model_copy(
                    update={"audiences": [a.model_copy(update={"size": a.size * scale}) for a in scenario.audiences]}
                ),
            ),
        ):
            simulate(sc, seed=seed, actions=actions[:5], judge=judge)  # warm the checker's caches
            t = time.perf_counter()
            public = simulate(sc, seed=seed, actions=actions, judge=judge)
            seconds = time.perf_counter() - t
            out[f"{scenario.id}:{label}"] = {
                "mentions": len(public.mentions),
                "actions": len(actions),
                "seconds": round(seconds, 3),
                "mentions_per_s": round(len(public.mentions) / seconds),
                "actions_per_s": round(len(actions) / seconds),
                "people_minutes_per_s": round(sum(a.size for a in sc.audiences) * sc.minutes / seconds),
            }
    return out


def live_drill(seed: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="runbook-bench-drill-"))
    env = {
        "RUNBOOK_HOME": str(work / "home"),
        "RUNBOOK_DATABASE_URL": f"sqlite:///{work / 'home' / 'runbook.db'}",
        "RUNBOOK_ROSTER": str(ROOT / "roster.yaml"),
        "RUNBOOK_PLAYBOOKS_DIR": str(ROOT / "playbooks"),
        "RUNBOOK_TEMPLATES_DIR": str(ROOT / "templates"),
    }
    os.environ.update(env)
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from runbook.drill.live import run_drill
    from runbook.drill.policy import find_policy, load_policy
    from runbook.drill.result import read_drill
    from runbook.drill.scenario import find_scenario, load_scenario
    from runbook.engine.demo import _start_worker, _stop
    from runbook.engine.localserver import start_local_server
    from runbook.engine.prefect_io import wait_for_deployments
    from runbook.engine.services import build_services

    server = start_local_server(prefect_home=work / "prefect", log=work / "server.log")
    os.environ["PREFECT_API_URL"] = server.api_url
    services = build_services(migrate=True)
    worker = None
    try:
        worker = _start_worker(services, server.api_url, work / "worker.log")
        wait_for_deployments()
        t = time.perf_counter()
        run = run_drill(
            services=services,
            scenario=load_scenario(find_scenario("us-airways")),
            seed=seed,
            speed=60,
            policy=load_policy(find_policy("textbook")),
            requester="ana",
            timeout=1200,
        )
        result = read_drill(services.db, run.incident.id)
        seconds = time.perf_counter() - t
    finally:
        _stop(worker)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": round(seconds, 1),
        "status": run.incident.status,
        "score": result.score.total,
        "mentions": len(result.mentions),
        "actions": len(result.actions),
        "replay_identical": result.replay_identical,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=10, help="audience size multiplier for the large run")
    parser.add_argument("--no-live", action="store_true", help="skip the live --auto drill (needs ~3 min)")
    args = parser.parse_args()
    public = throughput(args.seed, args.scale)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load": os.getloadavg()[0],
        },
        "public": public,
        "targets": TARGETS,
    }
    for name, r in public.items():
        print(
            f"public {name:24s} {r['mentions']:6d} mentions in {r['seconds']:6.2f} s -> {r['mentions_per_s']:7d} mentions/s, "
            f"{r['actions_per_s']:5d} actions reacted/s"
        )
    if not args.no_live:
        results["auto_drill_us_airways_speed60"] = live = live_drill(args.seed)
        print(
            f"--auto textbook drill of us-airways at --speed 60: {live['seconds']} s wall, {live['status']}, "
            f"score {live['score']}, {live['mentions']} mentions (target < {TARGETS['auto_drill_speed60_s']} s)"
        )
    write_results(ROOT / "bench" / "results" / "drill.json", results)


if __name__ == "__main__":
    main()
