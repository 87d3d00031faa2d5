"""The drill's score: only from what the team did (actions observed in the verified audit trail and
the sandbox) and what the public wrote (the sandbox mentions), against the scenario's "do nothing"
and "textbook" baselines. Every component is shown with its inputs; the formula is in docs/drills.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runbook.drill.actions import Action
from runbook.drill.scenario import Scenario

__all__ = ["BUCKET", "Curve", "Score", "compute", "curve_of", "moments"]

BUCKET = 10  # minutes per point of the negative-mention curve
WEIGHTS = {
    "freeze": 8,
    "statement": 9,
    "first_reply": 8,
    "doctrine": 15,
    "replies": 15,
    "freeze_held": 10,
    "peak": 15,
    "area": 20,
}


@dataclass(frozen=True)
class Curve:
    negative: list[int]  # negative mentions per BUCKET minutes
    total: list[int]

    @property
    def peak(self) -> int:
        return max(self.negative, default=0)

    @property
    def area(self) -> int:
        return sum(self.negative)

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket_minutes": BUCKET,
            "negative": self.negative,
            "total": self.total,
            "peak": self.peak,
            "area": self.area,
        }


def curve_of(points: list[tuple[int, bool]], minutes: int) -> Curve:
    """(minute, negative) of every mention -> per-bucket counts over the scenario's length."""
    n = (minutes + BUCKET - 1) // BUCKET
    negative, total = [0] * n, [0] * n
    for t, is_negative in points:
        if 0 <= t < minutes:
            total[t // BUCKET] += 1
            negative[t // BUCKET] += int(is_negative)
    return Curve(negative=negative, total=total)


@dataclass
class Component:
    name: str
    weight: int
    fraction: float  # 0..1 of the weight earned
    detail: str

    @property
    def points(self) -> float:
        return round(self.weight * self.fraction, 2)


@dataclass
class Score:
    total: float
    curve: Curve  # the drill's negative-mention curve (compute() always has one)
    components: list[Component] = field(default_factory=list)
    baselines: dict[str, Curve] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "components": [
                {**asdict(c), "fraction": round(c.fraction, 4), "points": c.points} for c in self.components
            ],
            "curve": self.curve.to_json(),
            "baselines": {k: v.to_json() for k, v in self.baselines.items()},
        }


def _timing(value: int | None, deadline_minutes: float) -> float:
    """Full marks within a third of the deadline, nothing at twice the deadline or never."""
    if value is None:
        return 0.0
    best, worst = deadline_minutes / 3, deadline_minutes * 2
    if value <= best:
        return 1.0
    return max(0.0, 1 - (value - best) / (worst - best))


def _better(value: int, nothing: int, textbook: int) -> float:
    if nothing <= textbook:
        return 1.0 if value <= textbook else 0.0
    return min(1.0, max(0.0, (nothing - value) / (nothing - textbook)))


def first(actions: list[Action], kind: str) -> int | None:
    return next((a.at for a in sorted(actions, key=Action.order) if a.kind == kind), None)


def compute(
    *,
    scenario: Scenario,
    actions: list[Action],
    mentions: list[dict[str, Any]],
    baselines: dict[str, Curve],
    judge: Any,
    slipped: int | None = None,
) -> Score:
    """`mentions`: the public's posts (t, author, text, negative); `slipped`: brand posts that went
    out during the freeze (default: counted from the actions)."""
    from runbook.drill.public import Duplicates

    d = scenario.deadlines
    comps: list[Component] = []
    freeze_at, statement_at, reply_at = first(actions, "freeze"), first(actions, "statement"), first(actions, "reply")
    for name, value, deadline in (
        ("freeze", freeze_at, d.freeze),
        ("statement", statement_at, d.statement),
        ("first_reply", reply_at, d.replies),
    ):
        minutes = deadline.total_seconds() / 60
        shown = "never" if value is None else f"T+{value} min"
        comps.append(
            Component(
                name,
                WEIGHTS[name],
                _timing(value, minutes),
                f"{shown} (deadline {minutes:g} min; full marks within {minutes / 3:g})",
            )
        )
    statements = [a for a in actions if a.kind == "statement"]
    replies = [a for a in actions if a.kind == "reply"]
    statement_findings = sorted({f["rule"] for a in statements for f in judge.findings(a.text)})
    blocking = sum(len(judge.findings(a.text)) for a in statements)
    reply_findings = sum(1 for a in replies if judge.findings(a.text, target="reply"))
    flagged_share = reply_findings / len(replies) if replies else 0.0
    doctrine = 0.0 if not statements else max(0.0, 1 - 0.5 * blocking - 0.5 * flagged_share)
    comps.append(
        Component(
            "doctrine",
            WEIGHTS["doctrine"],
            doctrine,
            f"{len(statements)} statement(s), blocking findings: {', '.join(statement_findings) or 'none'}; "
            f"{reply_findings}/{len(replies)} replies with findings",
        )
    )
    negative_authors: set[str] = set()
    posts_by: dict[str, list[tuple[int, str]]] = {}
    for m in sorted(mentions, key=lambda m: (m["t"], m["key"])):
        if m.get("kind") == "inject":
            continue
        if m["negative"]:
            negative_authors.add(m["author"])
        if m.get("kind", "post") == "post":
            posts_by.setdefault(m["author"], []).append((m["t"], m["text"]))
    answered = {a.to.lstrip("@") for a in replies}
    coverage = len(answered & negative_authors) / len(negative_authors) if negative_authors else 0.0
    tracker = Duplicates()
    duplicates = 0
    for a in sorted(replies):
        earlier = [text for t, text in posts_by.get(a.to.lstrip("@"), []) if t < a.at]
        duplicates += tracker.add(a.text, earlier[-1] if earlier else a.text)
    personal = 1 - (duplicates / len(replies)) if replies else 0.0
    comps.append(
        Component(
            "replies",
            WEIGHTS["replies"],
            coverage * personal,
            f"coverage {len(answered & negative_authors)}/{len(negative_authors)} negative posters "
            f"({coverage:.0%}); near-duplicates {duplicates}/{len(replies)} sent "
            f"(personalisation {personal:.0%})",
        )
    )
    if slipped is None:
        slipped = count_slipped(actions)
    held = 0.0 if freeze_at is None else max(0.0, 1 - 0.5 * slipped)
    comps.append(
        Component(
            "freeze_held",
            WEIGHTS["freeze_held"],
            held,
            "never frozen" if freeze_at is None else f"{slipped} post(s) slipped through the freeze",
        )
    )
    curve = curve_of([(m["t"], bool(m["negative"])) for m in mentions], scenario.minutes)
    nothing, textbook = baselines["do-nothing"], baselines["textbook"]
    comps.append(
        Component(
            "peak",
            WEIGHTS["peak"],
            _better(curve.peak, nothing.peak, textbook.peak),
            f"peak {curve.peak} negative / {BUCKET} min (do nothing {nothing.peak}, textbook {textbook.peak})",
        )
    )
    comps.append(
        Component(
            "area",
            WEIGHTS["area"],
            _better(curve.area, nothing.area, textbook.area),
            f"{curve.area} negative mentions (do nothing {nothing.area}, textbook {textbook.area})",
        )
    )
    total = round(sum(c.points for c in comps), 1)
    return Score(total=total, components=comps, curve=curve, baselines=dict(baselines))


def count_slipped(actions: list[Action]) -> int:
    """Posts (not the statement, not replies) published between the freeze and the thaw."""
    ordered = sorted(actions)
    frozen, slipped = False, 0
    for a in ordered:
        if a.kind == "freeze":
            frozen = True
        elif a.kind == "thaw":
            frozen = False
        elif a.kind == "post" and frozen:
            slipped += 1
    return slipped


LABELS = {
    "freeze": "freeze",
    "statement": "statement",
    "reply": "first personal reply",
    "post": "post during the freeze",
}


STATEMENT_SPREAD = 5  # simulated minutes within which statements are one publication


def moments(
    *, scenario: Scenario, actions: list[Action], mentions: list[dict[str, Any]], window: int = 20
) -> list[dict[str, Any]]:
    """The team's actions and the scenario's injects, each with the public's negative share in the
    `window` minutes before and after: "statement at T+52 min: negative share fell from 61% to 34%"."""
    per_minute_total = [0] * scenario.minutes
    per_minute_negative = [0] * scenario.minutes
    for m in mentions:
        if 0 <= m["t"] < scenario.minutes:
            per_minute_total[m["t"]] += 1
            per_minute_negative[m["t"]] += int(bool(m["negative"]))

    def share(lo: int, hi: int) -> tuple[float | None, int]:
        lo, hi = max(0, lo), min(scenario.minutes, hi)
        total = sum(per_minute_total[lo:hi])
        return (sum(per_minute_negative[lo:hi]) / total if total else None), total

    events: list[tuple[int, str]] = []
    seen: set[str] = set()
    frozen = False
    statement_at: int | None = None
    for a in sorted(actions):
        if a.kind == "freeze":
            frozen = True
        if a.kind == "thaw":
            frozen = False
        if a.kind in ("freeze", "reply") and a.kind in seen:
            continue
        if a.kind == "statement":
            # One statement on three platforms is one moment, though publishing it takes a few real
            # seconds (minutes at --speed 60); a statement later than that is a moment of its own.
            if statement_at is not None and a.at - statement_at <= STATEMENT_SPREAD:
                continue
            statement_at = a.at
        if a.kind == "post" and not frozen:
            continue
        if a.kind in LABELS:
            seen.add(a.kind)
            events.append((a.at, LABELS[a.kind]))
    for inject in scenario.injects:
        label = {
            "journalist": "journalist asks for comment",
            "viral": "screenshot goes viral",
            "staff_post": "staff member posts",
        }[inject.kind]
        events.append((int(inject.at.total_seconds() // 60), label))
    out = []
    for at, label in sorted(set(events)):  # a statement on three platforms is one moment
        before, n_before = share(at - window, at)
        after, n_after = share(at, at + window)
        if before is None or after is None:
            text = f"{label} at T+{at} min"
        else:
            verb = "fell" if after < before - 0.02 else "rose" if after > before + 0.02 else "held"
            text = (
                f"{label} at T+{at} min: negative share {verb} from {before:.0%} to {after:.0%} in {window} min"
                f" ({n_before} -> {n_after} mentions)"
            )
        out.append({"t": at, "what": label, "before": before, "after": after, "text": text})
    return out
