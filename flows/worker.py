"""`python -m flows.worker`: the long-lived worker process (runbook.engine.worker) serving the flows
of flows.respond, configured by Settings().worker (RUNBOOK_WORKER_*). It lives beside the flows
because the engine does not import them."""

from __future__ import annotations

import signal
import sys

from runbook.engine.worker import quiet_logs, run_worker
from runbook.errors import ConfigurationError, exit_code
from runbook.settings import Settings


def main() -> None:
    try:
        settings = Settings()
    except ConfigurationError as error:  # one line, as the CLI says it; before Prefect's slow import
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(exit_code(error)) from None
    from flows.respond import respond, signoff_deadline

    quiet_logs(verbose=settings.worker.verbose)
    # One SIGTERM is enough to stop (Prefect's own worker wants two).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run_worker(
        respond=respond,
        signoff_deadline=signoff_deadline,
        settings=settings,
        limit=settings.worker.limit,
        scheduler=settings.worker.scheduler,
    )


if __name__ == "__main__":
    main()
