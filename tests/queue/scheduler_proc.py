"""A scheduler process for the kill-and-restart test: `python scheduler_proc.py URL DELAY STALE`.

Publishes through a slow sandbox channel (DELAY seconds per post) and settles posts left in
`publishing` after STALE seconds; prints `ready` once its scheduler runs.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from runbook.checks import Checker
from runbook.db import make_engine
from runbook.queue.service import QueueScheduler
from runbook.sandbox import SandboxChannel


class Slow:
    def __init__(self, inner, delay: float) -> None:  # noqa: ANN001
        self.inner, self.delay = inner, delay

    def publish(self, **kwargs):  # noqa: ANN003, ANN201
        time.sleep(self.delay)
        return self.inner.publish(**kwargs)

    def find(self, key: str):  # noqa: ANN201
        return self.inner.find(key)


def main() -> None:
    url, delay, stale = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    engine = make_engine(url)
    service = QueueScheduler(
        engine,
        channel=Slow(SandboxChannel(engine), delay),
        checker=Checker(links=False),
        workers=4,
        poll_seconds=0.2,
        stale_after=timedelta(seconds=stale),
    )
    service.start()
    print("ready", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
