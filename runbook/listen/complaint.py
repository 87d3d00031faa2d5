"""Customer-care reading of one mention: polarity (-1..1) and whether it needs a personal answer.

`assess_text` is the interface other parts use (replies, concerns); `ComplaintAnalyzer` is the
default sentiment analyser behind `load_analyzer`. VADER (English) and the Dutch lexicon are one
signal; customer-care cues (complaint markers, questions to the brand, sarcasm) are the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["ComplaintAnalyzer", "Verdict", "assess_text", "default_complaint_analyzer"]

Label = Literal["negative", "neutral", "positive"]


@dataclass(frozen=True)
class Verdict:
    label: Label
    score: float  # -1 (very negative) .. 1 (very positive)
    needs_answer: bool  # a complaint, a question to the brand, distress: a person should answer
    reasons: tuple[str, ...]  # the cues that decided it, e.g. ("complaint:lost", "question")


class ComplaintAnalyzer:
    """Polarity from the lexicon analysers plus customer-care cues; see docs/listening.md."""

    name = "complaint"

    def __init__(self) -> None:
        from runbook.listen import features
        from runbook.listen.sentiment import DutchLexiconAnalyzer, VaderAnalyzer

        self._features = features
        self._vader = VaderAnalyzer()
        self._dutch = DutchLexiconAnalyzer()

    def base(self, text: str, language: str) -> float:
        return (self._dutch if language == "nl" else self._vader).score(text, language)

    def assess(self, text: str, language: str) -> Verdict:
        base = self.base(text, language)
        cues = self._features.cues(text, language)
        score = base
        if cues.complaint or cues.sarcasm:
            score = min(score, 0.0) - 0.3 * (len(cues.complaint) + int(cues.sarcasm))
        if cues.help and score > -0.3:
            score -= 0.3
        score = max(-1.0, min(1.0, score))
        label: Label = "negative" if score <= -0.05 else ("positive" if score >= 0.05 else "neutral")
        needs = label == "negative" or bool(cues.question or cues.help)
        return Verdict(label=label, score=round(score, 4), needs_answer=needs, reasons=cues.reasons())

    def score(self, text: str, language: str) -> float:
        return self.assess(text, language).score


@lru_cache(maxsize=1)
def default_complaint_analyzer() -> ComplaintAnalyzer:
    return ComplaintAnalyzer()


def assess_text(text: str, language: str) -> Verdict:
    """The verdict of the default model for one text (language "en", "nl", or anything else)."""
    return default_complaint_analyzer().assess(text, language)
