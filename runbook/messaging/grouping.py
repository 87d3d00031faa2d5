"""Who needs an answer and about what: keeps only the people whose mentions need a personal answer
(by default complaints: what runbook.listen.complaint reads as negative; `needs_answer` adds
questions and requests for help), and puts each person in
the concern groups of the window (runbook.listen.concerns) that their mentions belong to, with the
complaint sentence of each and the topic a reply template is chosen by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypedDict

from runbook.messaging.audience import Heard, Person
from runbook.messaging.concerns import quote_of, topic_of

Answer = Literal["complaints", "needs_answer", "all"]


class ConcernInfo(TypedDict):
    """A concern group as a person's mention names it."""

    id: str
    label: str
    terms: list[str]
    topic: str


OTHER: ConcernInfo = {"id": "other", "label": "other", "terms": [], "topic": "general"}


@dataclass
class Filtered:
    """What the filter did, shown at the sign-off."""

    rule: str
    people: int = 0  # people heard (after bots, the brand and the step's own filters)
    kept: int = 0
    skipped: int = 0  # only positive or neutral mentions: nobody to answer
    mentions_kept: int = 0
    mentions_skipped: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _needs(heard: Heard, language: str, rule: Answer) -> bool:
    """A complaint is what the listening store scored negative (the same mentions the concerns
    group); a mention never scored is read by the customer-care model."""
    if rule == "all":
        return True
    if rule == "complaints" and heard.negative is not None:
        return heard.negative
    if rule == "needs_answer" and heard.needs_answer is not None:
        return heard.needs_answer or bool(heard.negative)
    from runbook.listen.complaint import assess_text

    verdict = assess_text(heard.text, language)
    if rule == "complaints":
        return verdict.label == "negative"
    return bool(heard.negative) or verdict.needs_answer


def keep_needing_answer(people: Sequence[Person], rule: Answer) -> tuple[list[Person], Filtered]:
    """Each person with only the mentions that need an answer; people with none are left out."""
    out: list[Person] = []
    stats = Filtered(rule=rule, people=len(people))
    for person in people:
        needing = [m for m in person.mentions if _needs(m, person.language, rule)]
        stats.mentions_kept += len(needing)
        stats.mentions_skipped += len(person.mentions) - len(needing)
        if not needing:
            stats.skipped += 1
            continue
        primary = (
            person.primary if person.primary in needing else max(needing, key=lambda m: (len(m.text), m.created_at))
        )
        out.append(replace(person, mentions=needing, primary=primary))
    stats.kept = len(out)
    return out, stats


def group_people(
    engine: Any,
    people: Sequence[Person],
    *,
    accounts: Sequence[str] | None,
    since: datetime,
    until: datetime,
    topics: dict[str, tuple[str, ...]] | None = None,
) -> list[dict[str, Any]]:
    """Sets `person.groups` (the concern groups of their mentions, the primary mention's first) and
    returns the groups with their people: the same concerns `runbook mentions concerns` finds."""
    from runbook.listen.concerns import concerns_in_window

    report = concerns_in_window(
        engine, accounts=[(None, a.lstrip("@")) for a in accounts] if accounts else None, since=since, until=until
    )
    by_key = report.by_key()
    groups: dict[str, dict[str, Any]] = {}
    for person in people:
        found: dict[str, dict[str, Any]] = {}
        ordered = [person.primary, *[m for m in person.mentions if m is not person.primary]]
        for mention in ordered:
            concern = by_key.get(mention.ref) or report.assign(mention.text, person.language)
            info: ConcernInfo = (
                OTHER
                if concern is None
                else {
                    "id": concern.id,
                    "label": concern.label,
                    "terms": concern.terms[:6],
                    "topic": topic_of(concern.terms, topics),
                }
            )
            if info["id"] in found:
                continue
            found[info["id"]] = {
                **info,
                "quote": quote_of(mention.text, language=person.language, terms=tuple(info["terms"])),
                "ref": mention.ref,
            }
        person.groups = list(found.values())
        for g in person.groups:
            entry = groups.setdefault(g["id"], {k: g[k] for k in ("id", "label", "terms", "topic")} | {"people": []})
            entry["people"].append(person.key)
    return sorted(groups.values(), key=lambda g: (g["id"] == "other", -len(g["people"]), g["id"]))
