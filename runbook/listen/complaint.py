"""Customer-care reading of one mention: polarity (-1..1) and whether it needs a personal answer.

`assess_text` is the interface other parts use (replies, concerns); `ComplaintAnalyzer` is the
default sentiment analyser behind `load_analyzer`. VADER (English) and the Dutch lexicon are one
signal; customer-care cues (complaint markers, questions to the brand, sarcasm) are the others.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

__all__ = ["CARE", "CLASSES", "ComplaintAnalyzer", "MODEL_PATH", "Verdict", "assess_text", "default_complaint_analyzer"]

Label = Literal["negative", "neutral", "positive"]
CLASSES: tuple[Label, ...] = ("negative", "neutral", "positive")
MODEL_PATH = Path(__file__).with_name("complaint_model.json.gz")  # rebuilt by `python -m runbook.listen.train`

# Customer-care cues added to the trained model's logits (negative, neutral, positive). TweetEval
# has almost no complaints to a brand, so these weights are set by hand (docs/listening.md says how
# they were checked): a service-failure marker or sarcasm is a complaint whatever the words' valence.
THANKED = 0.35  # the weight of a complaint marker in a thankful text
CARE: dict[str, tuple[float, float, float]] = {
    "prior": (0.6, 0.0, 0.0),  # every mention: people who address a brand mostly complain
    "complaint": (1.4, 0.0, -0.6),  # per marker, up to three
    "sarcasm": (2.5, 0.0, -2.0),
    "help": (1.6, 0.3, -0.8),
    "question": (0.2, 0.2, -0.3),
    "info": (-1.2, 1.0, 0.0),  # a plain question for information
    "emoji_neg": (0.4, 0.0, -0.4),  # per angry or sad emoji, up to three
    "emoji_pos": (-0.4, -0.2, 0.6),
    "thanks": (-0.8, -0.2, 1.0),  # gratitude or praise (not sarcastic): complaint markers then count less
}


@dataclass(frozen=True)
class Verdict:
    label: Label
    score: float  # -1 (very negative) .. 1 (very positive)
    needs_answer: bool  # a complaint, a question to the brand, distress: a person should answer
    reasons: tuple[str, ...]  # the cues that decided it, e.g. ("complaint:lost", "question")


class ComplaintAnalyzer:
    """Trained weights (word n-grams, lexicon score, cues) plus the hand-set customer-care terms."""

    name = "complaint"

    def __init__(self, weights: Mapping[str, Any] | None = None, *, path: Path = MODEL_PATH) -> None:
        from runbook.listen import features
        from runbook.listen.sentiment import DutchLexiconAnalyzer, VaderAnalyzer

        self._features = features
        self._vader = VaderAnalyzer()
        self._dutch = DutchLexiconAnalyzer()
        self._weights = weights
        self._path = path

    @property
    def weights(self) -> Mapping[str, Any]:
        if self._weights is None:
            if not self._path.exists():
                raise FileNotFoundError(
                    f"{self._path}: the complaint model's weights are missing "
                    "(rebuild them: python -m runbook.listen.train)"
                )
            self._weights = json.loads(gzip.decompress(self._path.read_bytes()))
        return self._weights

    def base(self, text: str, language: str) -> float:
        """The lexicon analyser's score: VADER, or the Dutch lexicon for Dutch."""
        return (self._dutch if language == "nl" else self._vader).score(text, language)

    def logits(self, text: str, language: str) -> tuple[list[float], Any]:
        weights = self.weights
        cues = self._features.cues(text, language)
        out = list(weights["bias"])
        sparse = weights["sparse"]
        for gram in set(self._features.lexical(text)):
            w = sparse.get(gram)
            if w is not None:
                out[0] += w[0]
                out[1] += w[1]
                out[2] += w[2]
        dense_w = weights["dense"]
        for name, value in self._features.dense(cues, self.base(text, language), text).items():
            w = dense_w.get(name)
            if w is not None and value:
                out[0] += w[0] * value
                out[1] += w[1] * value
                out[2] += w[2] * value
        complaints = min(len(cues.complaint), 3) * (THANKED if cues.thanks else 1.0)
        for name, times in (
            ("prior", 1),
            ("complaint", complaints),
            ("sarcasm", int(cues.sarcasm)),
            ("help", int(cues.help)),
            ("question", int(cues.question)),
            ("info", int(cues.info)),
            ("emoji_neg", min(cues.negative_emoji, 3)),
            ("emoji_pos", min(cues.positive_emoji, 3)),
            ("thanks", int(cues.thanks)),
        ):
            if times:
                for k in range(3):
                    out[k] += CARE[name][k] * times
        return out, cues

    def assess(self, text: str, language: str) -> Verdict:
        logits, cues = self.logits(text, language)
        top = max(logits)
        exp = [math.exp(x - top) for x in logits]
        total = sum(exp)
        p_neg, p_neu, p_pos = (x / total for x in exp)
        label = CLASSES[logits.index(top)]
        # A polarity in -1..1 whose sign agrees with the label (the spike check counts score <= -0.05).
        score = p_pos - p_neg
        if label == "negative":
            score = min(score, -0.05)
        elif label == "positive":
            score = max(score, 0.05)
        else:
            score = max(-0.049, min(0.049, score))
        needs = label == "negative" or cues.help or cues.question
        return Verdict(label=label, score=round(score, 4), needs_answer=bool(needs), reasons=cues.reasons())

    def score(self, text: str, language: str) -> float:
        return self.assess(text, language).score


@lru_cache(maxsize=1)
def default_complaint_analyzer() -> ComplaintAnalyzer:
    return ComplaintAnalyzer()


def assess_text(text: str, language: str) -> Verdict:
    """The verdict of the default model for one text (language "en", "nl", or anything else)."""
    return default_complaint_analyzer().assess(text, language)
