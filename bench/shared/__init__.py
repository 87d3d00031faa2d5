"""What the bench scripts share: where results go, and the engine's verbs without a Prefect flow run.

A package, not a bench/*.py script, so `make bench` does not run it as a benchmark.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def write_results(out: Path, results: dict[str, Any]) -> None:
    """`results` as indented JSON in `out` (bench/results/*.json), and a line saying so."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def wait(probe: Callable[[], T | None], what: str, timeout: float = 120, interval: float = 0.1) -> T:
    """`probe()` polled until it gives something; RuntimeError naming `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(interval)
    raise RuntimeError(f"bench: no {what} within {timeout}s")


def no_flow_run_verbs() -> type:
    """The engine's verbs without the Prefect flow run, for an app measured with no Prefect server:
    incidents are created, and a click is answered "no flow run yet" after the ack."""
    from runbook.engine import commands

    class NoFlowRun:
        CommandError = commands.CommandError
        start, plan_for, status, approve = (
            staticmethod(commands.start),
            staticmethod(commands.plan_for),
            staticmethod(commands.status),
            staticmethod(commands.approve),
        )

        @staticmethod
        def launch(*, services: Any, incident: Any) -> None:
            return None

    return NoFlowRun
