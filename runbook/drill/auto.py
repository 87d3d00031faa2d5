"""`--auto POLICY`: the team played by a policy. Each sign-off is answered by the person the engine's
driver suggests, not before the policy's simulated time for that kind of step, with the policy's
statement text and deletion choice.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["answer"]


def _not_before(policy: Any, uses: str) -> float:
    minutes = {
        "freeze_posts": policy.freeze,
        "draft_statement": policy.statement.at if policy.statement else None,
        "publish": policy.statement.at if policy.statement else None,
        "reply_individually": policy.replies.start if policy.replies else None,
    }.get(uses)
    return 0.0 if minutes is None else minutes.total_seconds() / 60


def answer(run: Any, *, step: Any, pending: Any, suggestion: Any) -> Any:
    from runbook.engine.demo import Answer

    policy = run.policy
    target = _not_before(policy, step.uses)
    while run.clock.now() < target:  # the public keeps posting while the team "works"
        run.tick(run.incident)
        time.sleep(0.2)
    fields = dict(suggestion.fields)
    if step.uses == "draft_statement" and policy.statement and not pending.approvals and "text" in step.gate.fields:
        fields["text"] = policy.text(policy.statement.text, run.scenario)
    if step.uses == "decide" and "choice" in step.gate.fields:
        options = step.gate.fields["choice"].options or []
        if policy.delete in options:
            fields["choice"] = policy.delete
    if step.uses == "reply_individually" and "approve_flagged" in step.gate.fields:
        fields["approve_flagged"] = True
    return Answer(suggestion.person, fields, f"drill --auto {policy.name}", True)
