"""The scenario's two reference runs, "do nothing" (score 0) and "textbook" (score 100 on the
public's curve), played offline with the built-in policies for the drill's seed; and `rehearse`,
which plays any policy offline and scores it the way a live drill is scored.
"""

from __future__ import annotations

from typing import Any

from runbook.drill.actions import Action
from runbook.drill.policy import Policy, find_policy, load_policy, play_offline
from runbook.drill.public import Judge, Public
from runbook.drill.scenario import Scenario
from runbook.drill.score import Curve, Score, compute, curve_of

__all__ = ["baselines", "rehearse"]

_CACHE: dict[tuple[str, int], dict[str, Curve]] = {}
_PLAYED: dict[tuple[str, str, int], tuple[Public, list[Action]]] = {}


def played(scenario: Scenario, policy: Policy, *, seed: int, judge: Judge) -> tuple[Public, list[Action]]:
    """`play_offline`, once per (scenario, policy, seed) in this process: it is deterministic."""
    key = (scenario.model_dump_json(), policy.model_dump_json(), seed)
    if key not in _PLAYED:
        if len(_PLAYED) > 64:
            _PLAYED.clear()
        _PLAYED[key] = play_offline(scenario, policy, seed=seed, judge=judge)
    return _PLAYED[key]


def baselines(scenario: Scenario, *, seed: int, judge: Judge | None = None) -> dict[str, Curve]:
    key = (scenario.model_dump_json(), seed)
    if key not in _CACHE:
        judge = judge or Judge(scenario.language)
        out = {}
        for name in ("do-nothing", "textbook"):
            public, _ = played(scenario, load_policy(find_policy(name)), seed=seed, judge=judge)
            out[name] = curve_of([(m.t, m.negative) for m in public.mentions], scenario.minutes)
        _CACHE[key] = out
    return _CACHE[key]


def rehearse(
    scenario: Scenario, policy: Policy, *, seed: int, judge: Judge | None = None
) -> tuple[Score, Public, list[Action]]:
    judge = judge or Judge(scenario.language)
    public, actions = played(scenario, policy, seed=seed, judge=judge)
    score = compute(
        scenario=scenario,
        actions=actions,
        mentions=mentions_json(public),
        baselines=baselines(scenario, seed=seed, judge=judge),
        judge=judge,
    )
    return score, public, actions


def mentions_json(public: Public) -> list[dict[str, Any]]:
    return [m.to_json() for m in public.mentions]
