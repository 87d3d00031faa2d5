"""Readability of a message: Flesch reading ease for English, the Flesch–Douma variant for Dutch,
and the longest sentences. Computed here (no package): vowel groups approximate syllables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbook.checks.text import URL_RE

# (base, per word-per-sentence, per syllable-per-word)
FORMULAS = {"en": (206.835, 1.015, 84.6), "nl": (206.835, 0.93, 77.0)}
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•])")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_HANDLE_OR_TAG = re.compile(r"[@#]\w+")
_VOWELS = {"en": re.compile(r"[aeiouy]+"), "nl": re.compile(r"[aeiouyáéíóúàèâêîôûäöü]+")}


def syllables(word: str, language: str = "en") -> int:
    w = word.lower().replace("’", "'")
    if language == "nl":
        # A trema starts a new syllable (geëerd, ruïne); "ij" is one vowel sound.
        w = w.replace("ij", "y").replace("ë", "|e").replace("ï", "|i")
        return max(1, sum(len(_VOWELS["nl"].findall(part)) for part in w.split("|")))
    w = re.sub(r"'s$|'", "", w)
    if len(w) <= 3:
        return 1
    # Silent endings: "-e" (make), "-es"/"-ed" after most consonants (takes, asked), but not "-le".
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], w)
    return max(1, len(_VOWELS["en"].findall(w)))


@dataclass(frozen=True)
class Readability:
    language: str
    score: float  # higher is easier; 60-70 is plain language
    words: int
    sentences: int
    syllables: int
    long_sentences: tuple[tuple[int, str], ...]  # (word count, sentence) over the limit

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0


def sentences(text: str) -> list[str]:
    clean = URL_RE.sub(" ", text)
    return [s.strip() for s in _SENTENCE_END.split(clean) if s and _WORD.search(s)]


def measure(text: str, language: str = "en", *, long_sentence: int = 25) -> Readability:
    base, per_sentence, per_word = FORMULAS.get(language, FORMULAS["en"])
    parts = sentences(text)
    word_count = syllable_count = 0
    long: list[tuple[int, str]] = []
    for sentence in parts:
        words = _WORD.findall(_HANDLE_OR_TAG.sub(" ", sentence))
        word_count += len(words)
        syllable_count += sum(syllables(w, language) for w in words)
        if len(words) > long_sentence:
            long.append((len(words), sentence))
    if not word_count:
        return Readability(language, 100.0, 0, 0, 0, ())
    score = base - per_sentence * (word_count / max(len(parts), 1)) - per_word * (syllable_count / word_count)
    return Readability(language, round(score, 1), word_count, len(parts), syllable_count, tuple(long))


def sentence_lengths(text: str) -> list[int]:
    """Words per sentence, without counting syllables (the long-sentence check needs no more)."""
    return [len(_WORD.findall(_HANDLE_OR_TAG.sub(" ", sentence))) for sentence in sentences(text)]
