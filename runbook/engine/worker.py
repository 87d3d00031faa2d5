"""The long-lived worker: serves the respond and deadline deployments (polling about every
second), recovers runs whose process died, and keeps doing so until stopped.

The engine does not import the flows (they sit above it): the caller passes the flow objects in.
`python -m flows.worker` is what `runbook worker` runs; tests start it the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from runbook.engine.prefect_io import DEPLOYMENT_NAME
from runbook.engine.services import Services, build_services, export_settings
from runbook.settings import Settings

if TYPE_CHECKING:
    from runbook.queue.service import QueueScheduler

log = logging.getLogger("runbook.worker")

HEARTBEAT_SECONDS = 30  # Prefect's minimum; used to judge runs of workers on other hosts


def _running(runner) -> set[str]:
    """Flow runs this worker's runner has a process for. Prefect keeps no public list: the runs it
    polled are in its ProcessManager's map, directly executed ones in the runner's own map."""
    maps = (
        getattr(getattr(runner, "_process_manager", None), "_process_map", None) or {},
        getattr(runner, "_flow_run_process_map", None) or {},
    )
    try:
        return {str(run_id) for found in maps for run_id in list(found)}
    except Exception:  # noqa: BLE001 - a map changed while read: judge by labels this round
        return set()


def post_queue(services: Services) -> QueueScheduler:
    """The post queue's scheduler, publishing where configuration says (the channels file's
    accounts, else the sandbox): due posts of a real brand must never land in the sandbox."""
    from runbook.queue.service import QueueScheduler

    return QueueScheduler(services.db, channel=services.configured_channel())


# Keyword-only options, one per line: a shape duplicates pairs with postmortem/report.py's
# build_report(); only the form is alike, nothing is shared to extract.
def run_worker(
    *,
    respond: Any,
    signoff_deadline: Any,
    settings: Settings | None = None,
    name: str | None = None,
    limit: int | None = None,
    poll_seconds: float = 1.0,
    recover_every: float = 15.0,
    stale_after: float = 120.0,
    ready: threading.Event | None = None,
    scheduler: bool = True,
) -> None:
    """`scheduler`: also host the post queue's scheduler (docs/freeze.md): run exactly one per
    database, here or as `runbook scheduler` (then pass False: `runbook worker --no-scheduler`).
    `respond` and `signoff_deadline` are the flows of flows.respond, passed in by the caller."""
    settings = settings or Settings()
    export_settings(settings)  # flow processes inherit the same settings, with absolute paths
    services = build_services(settings, migrate=True)
    queue = None
    if scheduler:
        queue = post_queue(services)
        queue.start()

    from prefect.runner import Runner

    runner = Runner(
        name=name or f"runbook-{socket.gethostname()}-{os.getpid()}",
        query_seconds=poll_seconds,
        limit=limit,
        pause_on_shutdown=False,
        heartbeat_seconds=HEARTBEAT_SECONDS,
    )
    runner.add_deployment(respond.to_deployment(name=DEPLOYMENT_NAME, tags=["runbook"]))
    runner.add_deployment(signoff_deadline.to_deployment(name=DEPLOYMENT_NAME, tags=["runbook"]))

    stop = threading.Event()

    def sweep() -> None:
        from runbook.engine.recovery import recover

        while not stop.is_set():
            try:
                recover(db=services.db, stale_after=stale_after, busy=lambda: _running(runner))
            except Exception:  # noqa: BLE001 - try again next round
                log.warning("recovery sweep failed", exc_info=True)
            try:  # a freeze whose incident ended is flagged to its chat (once; docs/freeze.md)
                from runbook.engine.commands import flag_orphaned_freezes

                flag_orphaned_freezes(services)
            except Exception:  # noqa: BLE001 - try again next round
                log.warning("orphaned-freeze sweep failed", exc_info=True)
            stop.wait(recover_every)

    threading.Thread(target=sweep, name="runbook-recover", daemon=True).start()
    print(
        f"runbook worker {runner.name}: serving {DEPLOYMENT_NAME} deployments of respond and signoff-deadline"
        + ("; hosting the post queue scheduler" if queue is not None else ""),
        flush=True,
    )
    if ready is not None:
        ready.set()
    try:
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if queue is not None:
            queue.shutdown(wait=False)


# Routine lines that drowned the incident's story (APScheduler logs every job run at INFO).
NOISY = ("httpx", "alembic", "apscheduler")


def quiet_logs(*, verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
