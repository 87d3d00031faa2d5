"""Step kinds only the engine tests use, registered through the `runbook.steps` entry point
group (a dist-info folder the tests put on sys.path), like a third-party package would."""

from __future__ import annotations

import json
import time
from pathlib import Path

from runbook.steps.base import Outputs, Params, StepContext, StepKind


def _home(ctx: StepContext) -> Path:
    settings = ctx.services.settings
    home = Path(settings.home if settings is not None else ".")
    home.mkdir(parents=True, exist_ok=True)
    return home


class FlakyParams(Params):
    fail_times: int


class FlakyOutputs(Outputs):
    attempts: int


def flaky(ctx: StepContext, params: FlakyParams) -> FlakyOutputs:
    counter = _home(ctx) / f"flaky-{ctx.incident_id}-{ctx.step_id}"
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    if attempts <= params.fail_times:
        raise RuntimeError(f"flaky failure {attempts} of {params.fail_times}")
    return FlakyOutputs(attempts=attempts)


FLAKY = StepKind(name="flaky", params=FlakyParams, outputs=FlakyOutputs, run=flaky, description="fails N times")


class EffectParams(Params):
    target: str
    seconds: float = 0


class EffectOutputs(Outputs):
    done: bool


def slow_effect(ctx: StepContext, params: EffectParams) -> EffectOutputs:
    """Records an attempt, does its side effect once per idempotency key, then takes its time."""
    home = _home(ctx)
    with open(home / "attempts.log", "a", encoding="utf-8") as log:
        log.write(ctx.key(params.target) + "\n")
    ledger = home / "effects.jsonl"
    key = ctx.key(params.target)
    seen = {json.loads(line)["key"] for line in ledger.read_text().splitlines()} if ledger.exists() else set()
    if key not in seen:
        with open(ledger, "a", encoding="utf-8") as out:
            out.write(json.dumps({"key": key, "at": time.time()}) + "\n")
    time.sleep(params.seconds)
    return EffectOutputs(done=True)


SLOW_EFFECT = StepKind(
    name="slow_effect",
    params=EffectParams,
    outputs=EffectOutputs,
    run=slow_effect,
    side_effects=True,
    description="an idempotent side effect that takes a while",
)


class NoteParams(Params):
    text: str


class NoteOutputs(Outputs):
    text: str
    at: float


def note(ctx: StepContext, params: NoteParams) -> NoteOutputs:
    return NoteOutputs(text=params.text, at=time.time())


IMMEDIATE_NOTE = StepKind(
    name="immediate_note",
    params=NoteParams,
    outputs=NoteOutputs,
    run=note,
    immediate=True,
    signoff_at="after",
    description="runs as the incident starts, like the freeze",
)


# A kind reviewed in rounds, like reply_individually: each granted "after" sign-off is applied by
# a second call (rerun_after_signoff); `note: again` asks for one more round; `note: bad` is
# refused by check_decision before it counts.
class ReviewParams(Params):
    target: str


class ReviewOutputs(Outputs):
    phase: str
    awaiting_review: bool
    round: int
    applied: list[str] = []
    review: str = ""


def _review_fields(params: ReviewParams) -> dict:
    from runbook.spec.models import FieldType, InputField

    return {"note": InputField(type=FieldType.text, title="Note")}


def review_effect(ctx: StepContext, params: ReviewParams) -> ReviewOutputs:
    if ctx.decision is None:
        return ReviewOutputs(phase="drafted", awaiting_review=True, round=0, review=f"draft for {params.target}")
    shown = dict((ctx.steps.get(ctx.step_id) or {}).get("outputs") or {})
    note = str(ctx.decision.get("note") or "")
    key = ctx.key(f"{params.target}:{shown.get('round', 0)}")
    ledger = _home(ctx) / "reviews.jsonl"
    seen = {json.loads(line)["key"] for line in ledger.read_text().splitlines()} if ledger.exists() else set()
    if key not in seen:
        with open(ledger, "a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "key": key,
                        "note": note,
                        "person": ctx.decision.get("person"),
                        "approvers": ctx.decision.get("approvers"),
                        "channel": ctx.decision.get("channel"),
                    }
                )
                + "\n"
            )
    again = note == "again"
    return ReviewOutputs(
        phase="review" if again else "done",
        awaiting_review=again,
        round=int(shown.get("round", 0)) + 1,
        applied=[*shown.get("applied", []), note],
        review=f"round {int(shown.get('round', 0)) + 1} for {params.target}",
    )


def _check_review(params: ReviewParams, outputs, fields, services) -> list[str]:
    assert outputs.get("review"), "the engine passes the outputs the approvers saw"
    return ["a bad note"] if fields.get("note") == "bad" else []


REVIEW_EFFECT = StepKind(
    name="review_effect",
    params=ReviewParams,
    outputs=ReviewOutputs,
    run=review_effect,
    side_effects=True,
    signoff_at="after",
    gate_fields=_review_fields,
    rerun_after_signoff=True,
    check_decision=_check_review,
    description="reviewed and applied in rounds",
)
