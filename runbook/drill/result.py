"""A finished drill read back from the evidence: its configuration and what the public saw (the
verified audit trail), the public's mentions (the sandbox network), the score and the moments.
A replay of the public from the observed actions must reproduce the stored mentions exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runbook.drill.actions import Action, actions_from_json
from runbook.drill.scenario import Scenario
from runbook.drill.score import Score, compute, moments
from runbook.sandbox.tables import mentions as mention_table

__all__ = ["DrillResult", "NotADrill", "read_drill"]


class NotADrill(ValueError):
    pass


@dataclass
class DrillResult:
    incident: Any
    scenario: Scenario
    seed: int
    speed: float
    policy: str | None
    actions: list[Action]
    mentions: list[dict[str, Any]]
    score: Score
    moments: list[dict[str, Any]]
    verified: bool
    replay_identical: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "incident": self.incident.slug,
            "scenario": self.scenario.id,
            "title": self.scenario.title,
            "seed": self.seed,
            "speed": self.speed,
            "policy": self.policy,
            "started_at": self.incident.created_at.isoformat() if self.incident.created_at else None,
            "verified": self.verified,
            "replay_identical": self.replay_identical,
            "score": self.score.to_json(),
            "moments": self.moments,
            "actions": [a.to_json() for a in self.actions],
            "mentions": len(self.mentions),
        }


def stored_mentions(db: Any, incident_id: str) -> list[dict[str, Any]]:
    prefix = f"drill:{incident_id}:"
    with db.connect() as connection:
        rows = connection.execute(
            sa.select(mention_table.c.author, mention_table.c.text, mention_table.c.meta)
            .where(mention_table.c.key.startswith(prefix))
            .order_by(mention_table.c.id)
        ).all()
    out = []
    for r in rows:
        meta = dict(r.meta or {})
        out.append(
            {
                "key": meta.get("sim_key", ""),
                "t": int(meta.get("t", 0)),
                "author": r.author,
                "text": r.text,
                "negative": bool(meta.get("negative")),
                "kind": meta.get("kind", "post"),
            }
        )
    return out


def read_drill(db: Any, ref: str, *, judge: Any = None) -> DrillResult:
    from runbook.audit import events, get_incident, verify
    from runbook.drill.baseline import baselines
    from runbook.drill.public import Judge, simulate

    incident = get_incident(db, ref)
    if incident is None:
        raise NotADrill(f"no incident {ref!r}")
    if getattr(incident, "kind", "incident") != "drill":
        raise NotADrill(f"{incident.slug} is not a drill")
    report = verify(db, incident.id)
    trail = events(db, incident.id)
    started = next((e for e in trail if e.action == "drill.started"), None)
    if started is None:
        raise NotADrill(f"{incident.slug} has no drill.started event (did its driver run?)")
    config = started.details
    scenario = Scenario.model_validate(config["scenario_spec"])
    actions = sorted(a for e in trail if e.action == "drill.observed" for a in actions_from_json(e.details["actions"]))
    mentions = stored_mentions(db, incident.id)
    judge = judge or Judge(scenario.language)
    seed = int(config["seed"])
    replay = simulate(scenario, seed=seed, actions=actions, judge=judge)
    replayed = [
        {"key": m.key, "t": m.t, "author": m.author, "text": m.text, "negative": m.negative, "kind": m.kind}
        for m in replay.mentions
    ]
    score = compute(
        scenario=scenario,
        actions=actions,
        mentions=mentions,
        baselines=baselines(scenario, seed=seed, judge=judge),
        judge=judge,
    )
    return DrillResult(
        incident=incident,
        scenario=scenario,
        seed=seed,
        speed=float(config["speed"]),
        policy=config.get("policy"),
        actions=actions,
        mentions=mentions,
        score=score,
        moments=moments(scenario=scenario, actions=actions, mentions=mentions),
        verified=report.ok,
        replay_identical=replayed == mentions,
    )
