"""The `monitor` flow: one listening check (ingest, spike check, alerts, deadline escalations),
run on a schedule. Composition only; see runbook.listen.

Serve it every minute with `python -m flows.monitor` (or deploy it to a work pool).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

MONITOR_FLOW = "monitor"


@flow(name=MONITOR_FLOW, description="One listening check: ingest mentions, detect spikes, alert, escalate")
def monitor(config_path: str | None = None, create_run: bool = True) -> dict[str, Any]:
    from runbook.engine.listen_wiring import monitor_tick

    return monitor_tick(config_path=config_path, create_run=create_run, via="flow")


if __name__ == "__main__":  # pragma: no cover - a long-running server process
    monitor.serve(name="monitor", interval=60)
