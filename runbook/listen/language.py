"""Offline language detection for short social posts: function words per language, no model files.

Good enough to route a mention to the right sentiment lexicon (English or Dutch) and to tell other
languages apart from those two; answers "und" when a text gives too little to go on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

__all__ = ["LanguageDetector", "StopwordDetector", "UNDETERMINED", "detect_language"]

UNDETERMINED = "und"

# Frequent function words that rarely occur in the other listed languages' running text.
# Words shared by two languages (e.g. "in", "is", "was", "die") are left out or kept in one list only.
_STOPWORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset(
        """the and you your that this with for are have has not what who how why when just
        they them their our we my me it's its be been being was were will would can could should did does
        don't can't won't i'm you're isn't from about after again never still please really very all any
        of to on at or so if than then there here get got make made sent send take know think like
        thanks thank today tonight yourselves explain indeed happens best new""".split()
    ),
    "nl": frozenset(
        """de het een en van dat dit niet wat wie hoe waarom wanneer ook maar nog wel zijn
        heeft hebben mijn mij je jij jullie ze zij wij we ons onze hun bij voor naar met door uit over
        tegen tot om als dan toch echt heel erg zeer geen niets nooit wordt worden werd kan kunnen
        moet moeten zou zal gaat gaan komt komen snel vandaag hopelijk benieuwd dit deze die er
        afgang schandalig verklaring oplossen zeg keurt goed abonnement""".split()
    ),
    "de": frozenset(
        """der das und ist nicht ein eine mit für auf den dem des sich ich du wir ihr sie
        auch noch nur wie warum wann schon sehr kein keine haben hat wird werden kann können muss
        heute bitte danke""".split()
    ),
    "fr": frozenset(
        """le la les et est une un des du pour pas avec sur dans que qui quoi pourquoi
        comment nous vous ils elles très mais aussi encore jamais aujourd'hui merci c'est je tu""".split()
    ),
    "es": frozenset(
        """el los las y es una un del por para con sin que qué quien como cuando muy pero
        también nunca hoy gracias esto esta estos está son somos yo tú""".split()
    ),
}

_NOISE = re.compile(r"https?://\S+|[@#]\w+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


class LanguageDetector(Protocol):
    def detect(self, text: str) -> str:
        """An ISO 639-1 code, or "und"."""
        ...


class StopwordDetector:
    """Counts each language's function words; the clear winner (at least `min_hits`) is the answer."""

    def __init__(self, stopwords: Mapping[str, frozenset[str]] = _STOPWORDS, *, min_hits: int = 1) -> None:
        self.stopwords = stopwords
        self.min_hits = min_hits
        self._by_word: dict[str, list[str]] = {}
        for language, words in stopwords.items():
            for word in words:
                self._by_word.setdefault(word, []).append(language)

    def detect(self, text: str) -> str:
        counts: dict[str, int] = {}
        for word in _WORD.findall(_NOISE.sub(" ", text).lower()):
            for language in self._by_word.get(word, ()):
                counts[language] = counts.get(language, 0) + 1
        if not counts:
            return UNDETERMINED
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
        best, hits = ranked[0]
        if hits < self.min_hits or (len(ranked) > 1 and ranked[1][1] == hits):
            return UNDETERMINED
        return best


_default = StopwordDetector()


def detect_language(text: str) -> str:
    return _default.detect(text)
