"""`wait`: pauses the playbook for a fixed time (let a statement settle before replying)."""

from __future__ import annotations

import time
from datetime import timedelta

from pydantic import field_validator

from runbook.spec.durations import Duration
from runbook.steps.base import Outputs, Params, StepContext, StepKind

MAX_WAIT = timedelta(hours=24)


class WaitParams(Params):
    duration: Duration
    reason: str | None = None

    @field_validator("duration")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value > MAX_WAIT:
            raise ValueError("must be at most 24h; use a sign-off with a timeout for longer holds")
        return value


class WaitOutputs(Outputs):
    waited_seconds: float


def run(ctx: StepContext, params: WaitParams) -> WaitOutputs:
    started = time.monotonic()
    time.sleep(params.duration.total_seconds())
    return WaitOutputs(waited_seconds=round(time.monotonic() - started, 3))


KIND = StepKind.of("wait", run, description="Wait a fixed time before the next step")
