"""`python -m flows.worker`: the long-lived worker process (runbook.engine.worker) serving the flows
of flows.respond. It lives beside the flows because the engine does not import them."""

from __future__ import annotations

import os
import signal

from runbook.engine.worker import quiet_logs, run_worker


def main() -> None:
    from flows.respond import respond, signoff_deadline

    quiet_logs(verbose=os.environ.get("RUNBOOK_WORKER_VERBOSE", "").lower() in ("1", "true", "yes"))
    # One SIGTERM is enough to stop (Prefect's own worker wants two).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run_worker(respond=respond, signoff_deadline=signoff_deadline,
               limit=int(os.environ["RUNBOOK_WORKER_LIMIT"]) if os.environ.get("RUNBOOK_WORKER_LIMIT") else None,
               scheduler=os.environ.get("RUNBOOK_WORKER_SCHEDULER", "1").lower() not in ("0", "false", "no"))


if __name__ == "__main__":
    main()
