"""The doctrine review: for each of the six steps of doctrine.md, whether it happened and when, each
check backed by audit seq numbers. A check is true, false (the playbook called for it and it did
not happen) or null (nothing about it in the trail: not recorded, never guessed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from runbook.postmortem import names as n
from runbook.postmortem.index import Facts, StepFacts, finished
from runbook.postmortem.metrics import detection_signals
from runbook.postmortem.model import Deviation, DoctrineCheck, DoctrineStep, FollowUp, Metrics, Signoff
from runbook.postmortem.trail import Event

TITLES = {
    1: "Identify the error (assess, decide on deletion, convene, go silent)",
    2: "Own the conversation (be the first to know)",
    3: "Don't make it worse (no reaction from feelings; values, people, steps)",
    4: "Apologise honestly",
    5: "There is no formula (answer people individually)",
    6: "Prevention (protocol before publishing, policy follow-ups)",
}


def _yes(label: str, at: datetime | None, evidence: list[int], note: str = "") -> DoctrineCheck:
    return DoctrineCheck(label=label, done=True, at=at, evidence=sorted(set(evidence)), note=note)


def _no(label: str, note: str, evidence: list[int] | None = None) -> DoctrineCheck:
    return DoctrineCheck(label=label, done=False, evidence=sorted(set(evidence or [])), note=note)


def _unknown(label: str, note: str) -> DoctrineCheck:
    return DoctrineCheck(label=label, done=None, note=note)


def step_check(
    facts: Facts, role: str, label: str, note_from: Callable[[StepFacts, Event], str] | None = None
) -> DoctrineCheck:
    """True when a step playing `role` finished; false when the playbook had one and it did not."""
    steps = facts.role(role)
    done = finished(steps)
    if done:
        first, end = min(done, key=lambda pair: pair[1].seq)
        note = note_from(first, end) if note_from else ""
        return _yes(label, end.ts, [e.seq for _, e in done], note or f"step {first.id}")
    if not steps:
        return _unknown(label, "no such step in the playbook, no such event in the trail")
    if facts.running and any(s.outcome in ("running", "not_reached") for s in steps):
        waiting = next(s for s in steps if s.outcome in ("running", "not_reached"))
        return _unknown(
            label,
            f"not yet: step {waiting.id} " + ("is running" if waiting.outcome == "running" else "is not reached yet"),
        )
    ended = [s.ended.seq for s in steps if s.ended is not None]
    return _no(label, ", ".join(f"step {s.id} {s.outcome_words}" for s in steps), ended)


def _confirmed(step: StepFacts, end: Event) -> str:
    return f"manual step {step.id}, confirmed by a person"


def _choice(step: StepFacts, end: Event) -> str:
    choice = (end.details.get("outputs") or {}).get("choice")
    return f"step {step.id}: {choice}" if choice else f"step {step.id}"


def _identify(facts: Facts) -> list[DoctrineCheck]:
    created = facts.first(n.FREEZE_CREATED)
    if created is not None:
        frozen = step_check(facts, "freeze", "")  # only for its evidence
        freeze = _yes(
            "Every scheduled post paused",
            created.ts,
            [created.seq] + frozen.evidence,
            f"freeze {created.details.get('freeze', '')}: {created.details.get('frozen', '?')} post(s)",
        )
    else:
        freeze = step_check(facts, "freeze", "Every scheduled post paused", _confirmed)
    return [
        freeze,
        step_check(facts, "assess", "Impact assessed (who is affected, how badly)", _choice),
        step_check(facts, "delete", "Delete-or-keep decided with the team", _choice),
        step_check(facts, "convene", "The right teams convened"),
    ]


def _own(facts: Facts) -> list[DoctrineCheck]:
    signals = detection_signals(facts)
    label = "Alerted by monitoring (spike alert or first mention recorded)"
    alert = (
        _yes(label, signals[0][0], [s[2] for s in signals], signals[0][1])
        if signals
        else _unknown(label, "no spike alert or mention data in the trail")
    )
    measured = [end for s, end in finished(facts.role("assess")) if s.uses == "assess_impact"]
    label = "Reactions measured from mentions for the assessment"
    measure = (
        _yes(label, measured[0].ts, [measured[0].seq])
        if measured
        else _unknown(label, "no automated assessment (assess_impact) in the trail")
    )
    return [alert, measure]


def _worse(facts: Facts, deviations: list[Deviation]) -> list[DoctrineCheck]:
    label = "Silence held: nothing but the statement went out while frozen"
    created = facts.first(n.FREEZE_CREATED)
    broken = [d for d in deviations if d.kind == "silence_broken"]
    if broken:
        silence = _no(label, f"{len(broken)} post(s) published during the freeze", [d.seq for d in broken])
    elif created is not None:
        silence = _yes(label, created.ts, [created.seq], "no post.published between freeze and thaw")
    else:
        silence = _unknown(label, "no automated freeze: posts published meanwhile are not recorded")
    label = "Statement checked: values, the people affected, concrete steps, no excuses"
    checked = facts.all(n.STATEMENT_CHECKED)
    if checked:
        last = checked[-1]
        blocks = last.details.get("blocking") or []
        count = blocks if isinstance(blocks, int) else len(blocks)
        check = (
            _yes(label, last.ts, [e.seq for e in checked], "doctrine checks passed")
            if not count
            else _no(label, f"{count} blocking finding(s) at the last check", [last.seq])
        )
    else:
        check = step_check(
            facts,
            "statement",
            label,
            lambda s, end: (
                "checklist ticked by the approvers"
                if (end.details.get("outputs") or {}).get("complete")
                else f"step {s.id}"
            ),
        )
    return [silence, check]


def _apologise(facts: Facts, gates: list[Signoff]) -> list[DoctrineCheck]:
    ids = {s.id for s in facts.role("statement")}
    label = "Apology approved by named people (someone owns it)"
    granted = [g for g in gates if g.step in ids and g.outcome == "granted"]
    if granted:
        gate = granted[0]
        approved = _yes(
            label,
            gate.decided_at,
            [gate.decided_seq] if gate.decided_seq is not None else [],
            "approved by " + ", ".join(gate.approvers),
        )
    else:
        approved = step_check(facts, "statement", label)
        if approved.done:  # finished without a gate: nobody is on record as owning it
            approved = _no(label, "the statement step had no sign-off", approved.evidence)
    published = facts.first(n.STATEMENT_PUBLISHED)
    label = "Apology published"
    pub = (
        _yes(label, published.ts, [published.seq], "statement.published")
        if published
        else step_check(facts, "publish", label)
    )
    return [approved, pub]


def _no_formula(facts: Facts, metrics: Metrics) -> list[DoctrineCheck]:
    label = "People answered individually"
    sent = facts.sent_first
    if sent:
        one = _yes(
            label, sent[0].ts, [e.seq for e in sent[:50]], f"{metrics.replies_answered.value:.0f} personal replies"
        )
    else:
        one = step_check(
            facts,
            "replies",
            label,
            lambda s, _: (
                f"confirmed by a person at step {s.id}"
                + (
                    f" (answered: {metrics.replies_answered.value:.0f})"
                    if metrics.replies_answered.value is not None
                    else ""
                )
            ),
        )
    label = "Everyone on the list answered"
    coverage = metrics.reply_coverage
    if coverage.status != "ok":
        every = _unknown(label, "coverage not recorded" if coverage.status != "pending" else "replies still going")
    elif coverage.value is not None and coverage.value >= 100.0:
        every = _yes(label, None, list(coverage.evidence[-1:]), "coverage 100%")
    elif facts.running:
        every = _unknown(label, f"coverage so far {coverage.value:g}%")
    else:
        every = _no(label, f"coverage {coverage.value:g}%")
    return [one, every]


def _prevention(facts: Facts, follow_ups: list[FollowUp]) -> list[DoctrineCheck]:
    checks = []
    label = "Frozen posts re-checked before the queue resumed"
    proposed = facts.all(n.THAW_PROPOSED) + facts.all(n.THAW_APPLIED)
    if proposed:
        checks.append(
            _yes(label, proposed[0].ts, [e.seq for e in proposed], "thaw proposal re-ran the pre-publish checks")
        )
    else:
        checks.append(step_check(facts, "thaw", label, _confirmed))
    if facts.role("prevention"):
        checks.append(step_check(facts, "prevention", "Connected accounts checked"))
    label = "Policy follow-ups recorded (what, owner, due date)"
    if follow_ups:
        vague = sum(1 for f in follow_ups if f.owner is None or f.due is None)
        checks.append(
            _yes(
                label,
                None,
                [follow_ups[0].source_seq],
                f"{len(follow_ups)} follow-up(s)" + (f", {vague} without owner or due date" if vague else ""),
            )
        )
    else:
        review = facts.role("review")
        if not review:
            checks.append(_unknown(label, "no review step in the playbook"))
        elif facts.running and not any(s.finished for s in review):
            checks.append(_unknown(label, "not yet: the review has not finished"))
        else:
            checks.append(_no(label, "the review recorded no follow-ups", [s.ended.seq for s in review if s.ended]))
    label = "Reminders scheduled for the due dates"
    dated = [f for f in follow_ups if f.due is not None]
    reminded = [f.reminder for f in dated if f.reminder is not None]
    if not dated:
        checks.append(_unknown(label, "no follow-up with a due date"))
    elif len(reminded) == len(dated):
        checks.append(
            _yes(label, min(r.remind_at for r in reminded), [r.seq for r in reminded], f"{len(reminded)} reminder(s)")
        )
    else:
        checks.append(
            _no(label, f"{len(dated) - len(reminded)} due date(s) without a reminder", [r.seq for r in reminded])
        )
    return checks


def _status(checks: list[DoctrineCheck]) -> Literal["done", "partial", "not_done", "not_recorded"]:
    known = [c.done for c in checks if c.done is not None]
    if not known:
        return "not_recorded"
    if all(known) and len(known) == len(checks):
        return "done"
    return "partial" if any(known) else "not_done"


def doctrine(
    facts: Facts, *, gates: list[Signoff], deviations: list[Deviation], follow_ups: list[FollowUp], metrics: Metrics
) -> list[DoctrineStep]:
    by_number = {
        1: _identify(facts),
        2: _own(facts),
        3: _worse(facts, deviations),
        4: _apologise(facts, gates),
        5: _no_formula(facts, metrics),
        6: _prevention(facts, follow_ups),
    }
    out = []
    for number, checks in by_number.items():
        times = [c.at for c in checks if c.done and c.at is not None]
        out.append(
            DoctrineStep(
                number=number,
                title=TITLES[number],
                status=_status(checks),
                at=min(times) if times else None,
                evidence=sorted({s for c in checks if c.done is not None for s in c.evidence}),
                checks=checks,
            )
        )
    return out
