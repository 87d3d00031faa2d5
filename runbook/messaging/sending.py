"""Rate-limited sending: at most N replies per period per account, exactly. The next send starts
only once the send N places back has *completed* for a whole period, so the times the network
stores (between start and completion) never hold more than N in any window of that length;
the limiter is seeded from the database, so a restarted process keeps to it too.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from runbook.spec.durations import parse_duration

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\S+)\s*$")


@dataclass(frozen=True)
class RateLimit:
    count: int
    per: float  # seconds

    @classmethod
    def parse(cls, value: str) -> RateLimit:
        """ "30/1m", "300/15m", "5/1s"."""
        match = _RATE.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a rate; write it like 30/1m or 300/15m")
        count = int(match.group(1))
        if count < 1:
            raise ValueError("a rate allows at least one send")
        return cls(count=count, per=parse_duration(match.group(2)).total_seconds())

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


class Limiter:
    def __init__(
        self,
        limit: RateLimit,
        history: Iterable[float] = (),
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit = limit
        self.clock = clock
        self.sleep = sleep
        self.done_at: deque[float] = deque(sorted(history)[-limit.count :], maxlen=limit.count)
        self.waited = 0.0

    def wait(self) -> None:
        """Block until one more send keeps to the limit."""
        if len(self.done_at) < self.limit.count:
            return
        ready = self.done_at[0] + self.limit.per
        while (now := self.clock()) < ready:
            self.sleep(ready - now)
            self.waited += ready - now

    def done(self, at: float | None = None) -> None:
        self.done_at.append(self.clock() if at is None else at)
