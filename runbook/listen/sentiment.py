"""Sentiment scoring behind a small interface: a score in -1..1 per text and language.

English uses VADER (its lexicon ships inside the vaderSentiment package); Dutch uses the lexicon
in `lexicon_nl` with VADER's rules for negation, boosters and punctuation. The default analyser is
the customer-care model of `complaint`, which uses both as one signal. A team plugs in another
model with `load_analyzer("package.module:factory")`; "vader" names the plain lexicon routing.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Protocol, runtime_checkable

from runbook.listen import lexicon_nl

__all__ = [
    "DutchLexiconAnalyzer",
    "NEGATIVE_BELOW",
    "RoutingAnalyzer",
    "SentimentAnalyzer",
    "VaderAnalyzer",
    "default_analyzer",
    "is_negative",
    "lexicon_analyzer",
    "load_analyzer",
]

# VADER's own convention: a compound score at or below -0.05 reads as negative.
NEGATIVE_BELOW = -0.05


@runtime_checkable
class SentimentAnalyzer(Protocol):
    name: str

    def score(self, text: str, language: str) -> float:
        """-1 (very negative) .. 1 (very positive); 0 when nothing is said."""
        ...


def is_negative(score: float) -> bool:
    return score <= NEGATIVE_BELOW


class VaderAnalyzer:
    name = "vader"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str, language: str = "en") -> float:
        return float(self._vader.polarity_scores(text)["compound"])


_PHRASES = [(re.compile(pattern), token) for pattern, token in lexicon_nl.PHRASES]
_TOKEN = re.compile(r"[^\W\d]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]\uFE0F?", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|@\w+")


class DutchLexiconAnalyzer:
    """Sum of word valences with negation (the next three words flip, x -0.74), boosters on the next
    sentiment word, "maar" weighting the clause after it, exclamation marks; normalised like VADER."""

    name = "lexicon-nl"

    def __init__(self, lexicon: Mapping[str, float] | None = None) -> None:
        self.lexicon = dict(lexicon_nl.LEXICON if lexicon is None else lexicon)

    def score(self, text: str, language: str = "nl") -> float:
        lowered = _NOISE.sub(" ", text.replace("#", " ")).lower()
        for pattern, token in _PHRASES:
            lowered = pattern.sub(f" {token} ", lowered)
        tokens = _TOKEN.findall(lowered)
        total = 0.0
        but_at = tokens.index("maar") if "maar" in tokens else -1
        for i, token in enumerate(tokens):
            valence = self.lexicon.get(token)
            if valence is None or (
                token in lexicon_nl.BOOSTERS and i + 1 < len(tokens) and tokens[i + 1] in self.lexicon
            ):
                continue
            if i > 0 and tokens[i - 1] in lexicon_nl.BOOSTERS:
                boost = lexicon_nl.BOOSTERS[tokens[i - 1]]
                valence += boost if valence > 0 else -boost
            if any(t in lexicon_nl.NEGATIONS for t in tokens[max(0, i - 3) : i]):
                valence *= -0.74
            if but_at >= 0:
                valence *= 1.5 if i > but_at else 0.5
            total += valence
        if total:
            bangs = min(text.count("!"), 4) * 0.292
            total += bangs if total > 0 else -bangs
        return total / math.sqrt(total * total + 15) if total else 0.0


class RoutingAnalyzer:
    """Picks an analyser by language; anything else (and "und") goes to the fallback."""

    def __init__(self, by_language: Mapping[str, SentimentAnalyzer], fallback: SentimentAnalyzer) -> None:
        self.by_language = dict(by_language)
        self.fallback = fallback
        self.name = "+".join(sorted({a.name for a in [*self.by_language.values(), fallback]}))

    def score(self, text: str, language: str) -> float:
        return self.by_language.get(language, self.fallback).score(text, language)


@lru_cache(maxsize=1)
def lexicon_analyzer() -> RoutingAnalyzer:
    """Plain VADER for English (and other languages), the Dutch lexicon for Dutch: the baseline."""
    vader = VaderAnalyzer()
    return RoutingAnalyzer({"en": vader, "nl": DutchLexiconAnalyzer()}, fallback=vader)


def default_analyzer() -> SentimentAnalyzer:
    """The customer-care model (`runbook.listen.complaint`), loaded once."""
    from runbook.listen.complaint import default_complaint_analyzer

    return default_complaint_analyzer()


def load_analyzer(spec: str | None) -> SentimentAnalyzer:
    """The default analyser, or the one a `module:attribute` spec names (a class or factory)."""
    if not spec:
        return default_analyzer()
    if spec.strip().lower() in ("vader", "lexicon"):
        return lexicon_analyzer()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"sentiment analyser must look like package.module:factory, got {spec!r}")
    target = getattr(importlib.import_module(module_name), attr)
    made_by_call = isinstance(target, type) or (callable(target) and not hasattr(target, "score"))
    analyzer = target() if made_by_call else target
    if not isinstance(analyzer, SentimentAnalyzer):
        raise ValueError(f"{spec} gives no analyser (needs a `name` and a `score(text, language)` method)")
    return analyzer
