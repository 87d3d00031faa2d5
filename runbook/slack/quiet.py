"""Acks before work: the work after an ack waits while other requests are being acknowledged, so a
burst of clicks gets the CPU (and the GIL) first; each piece of work starts at most `max_delay` late.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

MAX_DELAY_SECONDS = 0.25  # Slack gives 3 s for the ack; the work has no such clock


class Quiet:
    """Counts requests being acknowledged; `wait()` returns when there are none (or on timeout)."""

    def __init__(self) -> None:
        self._busy = 0
        self._cond = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._cond:
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                if self._busy == 0:
                    self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout=timeout)


class AfterAcks(ThreadPoolExecutor):
    """The lazy listeners' executor: each task first lets in-flight acks finish."""

    def __init__(self, quiet: Quiet, *, max_delay: float = MAX_DELAY_SECONDS, **kwargs: Any):
        super().__init__(**kwargs)
        self.quiet = quiet
        self.max_delay = max_delay

    def submit(self, fn, /, *args: Any, **kwargs: Any) -> Future:
        def after_acks():
            self.quiet.wait(self.max_delay)
            return fn(*args, **kwargs)

        return super().submit(after_acks)
