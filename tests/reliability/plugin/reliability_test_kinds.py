"""A step kind only the reliability tests use (registered through the `runbook.steps` entry point
group, like a third-party package): reviewed once, then applied slowly, target by target, each
target's side effect done once per idempotency key, so a worker can be killed mid-apply."""

from __future__ import annotations

import json
import time
from pathlib import Path

from runbook.steps.base import Outputs, Params, StepContext, StepKind


class SlowReviewParams(Params):
    targets: list[str]
    seconds: float = 1.5


class SlowReviewOutputs(Outputs):
    phase: str
    awaiting_review: bool
    done: list[str] = []


def _home(ctx: StepContext) -> Path:
    settings = ctx.services.settings
    home = Path(settings.home if settings is not None else ".")
    home.mkdir(parents=True, exist_ok=True)
    return home


def slow_review(ctx: StepContext, params: SlowReviewParams) -> SlowReviewOutputs:
    if ctx.decision is None:
        return SlowReviewOutputs(phase="drafted", awaiting_review=True)
    home = _home(ctx)
    ledger = home / "applied.jsonl"
    for target in params.targets:
        key = ctx.key(target)
        with open(home / "apply-attempts.log", "a", encoding="utf-8") as log:
            log.write(key + "\n")
        seen = {json.loads(line)["key"] for line in ledger.read_text().splitlines()} if ledger.exists() else set()
        if key not in seen:
            with open(ledger, "a", encoding="utf-8") as out:
                out.write(json.dumps({"key": key}) + "\n")
        time.sleep(params.seconds)
    return SlowReviewOutputs(phase="applied", awaiting_review=False, done=list(params.targets))


SLOW_REVIEW = StepKind(
    name="slow_review",
    params=SlowReviewParams,
    outputs=SlowReviewOutputs,
    run=slow_review,
    side_effects=True,
    signoff_at="after",
    rerun_after_signoff=True,
    description="reviewed, then applied slowly target by target",
)
