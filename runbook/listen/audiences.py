"""Who is speaking and about what, from simple rules on text and author: staff involvement,
customers, partners, press, harm (offensive or sensitive subjects) and screenshots (English, Dutch).

Rules are data: a team extends the patterns here; the assessment only counts matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["AUDIENCES", "RULES", "Counts", "classify", "count_matches"]


# Rule name -> alternatives (regular expressions over lower-cased text, matched as whole words).
# A phrase belongs to one rule only: all rules are matched in one pass over the text.
RULES: dict[str, list[str]] = {
    # A person's own conduct (the Red Cross case), not "the social team got it wrong".
    "staff": [
        r"staff(?: member)?",
        r"employees?",
        r"interns?",
        r"stagiair\w*",
        r"medewerkers?",
        r"personeel",
        r"wrong account",
        r"personal (?:tweet|post|account|message)",
        r"rogue (?:tweet|employee)",
        r"drinking on the job",
        r"phone logins?",
        r"verkeerde account",
    ],
    "customers": [
        r"customers?",
        r"my (?:order|flight|booking|family|account)",
        r"flying",
        r"flights?",
        r"booked",
        r"subscription",
        r"abonnement",
        r"klant(?:en)?",
        r"i donate",
        r"donat\w*",
        r"never (?:flying|buying|ordering|eating)",
        r"bestelling",
    ],
    "partners": [
        r"partners?",
        r"sponsors?",
        r"suppliers?",
        r"collab\w*",
        r"franchise\w*",
        r"dealers?",
        r"leveranciers?",
    ],
    "press": [
        r"breaking",
        r"reports?",
        r"journalists?",
        r"news",
        r"under fire",
        r"goes viral",
        r"says",
        r"according to",
        r"press",
        r"nieuws",
        r"volgens",
    ],
    "harm": [
        r"porn\w*",
        r"graphic image",
        r"disgust\w*",
        r"offensive",
        r"abuse",
        r"domestic violence",
        r"violence",
        r"survivors?",
        r"assault",
        r"racis\w*",
        r"sexis\w*",
        r"my kids",
        r"children",
        r"schandalig",
        r"walgelijk",
        r"misbruik",
        r"geweld",
        r"kwetsend",
    ],
    "screenshot": [r"screenshots?", r"screen ?grabs?", r"screencaps?", r"schermafbeelding\w*"],
}
_HANDLES = re.compile(r"@\w+")  # "@RedCrossNews" is an account, not news


@lru_cache(maxsize=8)
def _combined(rules: tuple[tuple[str, tuple[str, ...]], ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{name}>\\b(?:{'|'.join(alternatives)})\\b)" for name, alternatives in rules))


# Author names that suggest a newsroom.
_PRESS_AUTHOR = re.compile(r"news|press|times|daily|journal|herald|gazette|nieuws|krant", re.IGNORECASE)
AUDIENCES = ("customers", "staff", "partners", "press")


@dataclass
class Counts:
    total: int = 0
    matches: dict[str, int] | None = None

    def share(self, name: str) -> float:
        return (self.matches or {}).get(name, 0) / self.total if self.total else 0.0


def classify(text: str, author: str = "") -> set[str]:
    pattern = _combined(tuple((name, tuple(alternatives)) for name, alternatives in RULES.items()))
    found = {match.lastgroup for match in pattern.finditer(_HANDLES.sub(" ", text.lower())) if match.lastgroup}
    if _PRESS_AUTHOR.search(author):
        found.add("press")
    return found


def count_matches(items: Iterable[tuple[str, str]]) -> Counts:
    """(text, author) pairs -> how many match each rule."""
    matches = dict.fromkeys(RULES, 0)
    total = 0
    for text, author in items:
        total += 1
        for name in classify(text, author):
            matches[name] += 1
    return Counts(total=total, matches=matches)
