"""Scoring a labelled export against its labels: per-class precision, recall and F1, macro-F1 and the
confusion matrix, for the complaint model and for plain VADER on the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.listen.complaint import CLASSES

__all__ = ["EvaluationError", "Report", "Scores", "evaluate_file", "label_of_score", "parse_label_map", "scores"]

LABEL_ALIASES = {
    "negative": "negative",
    "neg": "negative",
    "-1": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "0": "neutral",
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
}


class EvaluationError(ValueError):
    """A problem with the file or the options: one line for the user."""


@dataclass(frozen=True)
class Scores:
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    macro_f1: float
    accuracy: float
    confusion: dict[str, dict[str, int]]  # true label -> predicted label -> count

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_class": self.per_class,
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "confusion": self.confusion,
        }


@dataclass
class Report:
    file: str
    rows: int
    model: str
    scores: Scores
    vader: Scores
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "model": self.model,
            "scores": self.scores.to_dict(),
            "vader": self.vader.to_dict(),
            "skipped": [{"line": n, "error": e} for n, e in self.skipped],
        }


def label_of_score(score: float) -> str:
    """VADER's own convention: <= -0.05 negative, >= 0.05 positive, neutral between."""
    return "negative" if score <= -0.05 else ("positive" if score >= 0.05 else "neutral")


def scores(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = CLASSES) -> Scores:
    confusion = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    per_class: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = confusion[label][label]
        said = sum(confusion[t][label] for t in labels)
        support = sum(confusion[label].values())
        precision = tp / said if said else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    present = [label for label in labels if per_class[label]["support"]]
    macro = sum(per_class[label]["f1"] for label in present) / len(present) if present else 0.0
    accuracy = sum(confusion[label][label] for label in labels) / len(truth) if truth else 0.0
    return Scores(per_class=per_class, macro_f1=round(macro, 4), accuracy=round(accuracy, 4), confusion=confusion)


def parse_label_map(pairs: Iterable[str] | None) -> dict[str, str]:
    """`--map negative=neg,positive=pos` (or repeated): the file's label -> negative|neutral|positive.

    Either side may name the class, so `neg=negative` and `negative=neg` mean the same.
    """
    out: dict[str, str] = {}
    for chunk in pairs or []:
        for pair in chunk.split(","):
            left, sep, right = (part.strip() for part in pair.partition("="))
            if not sep or not left or not right:
                raise EvaluationError(f"--map {pair!r}: expected label=class (classes: {', '.join(CLASSES)})")
            if right.lower() in CLASSES:
                out[left.lower()] = right.lower()
            elif left.lower() in CLASSES:
                out[right.lower()] = left.lower()
            else:
                raise EvaluationError(f"--map {pair!r}: one side must be {', '.join(CLASSES)}")
    return out


def _rows(path: Path, encoding: str | None) -> Iterable[tuple[int, Mapping[str, Any]]]:
    from runbook.listen.importer import read_text

    text, _ = read_text(path, encoding)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{number}: not JSON: {exc.msg}") from None
                if not isinstance(record, dict):
                    raise EvaluationError(f"{path}:{number}: not a JSON object")
                yield number, record
        return
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    previous = 1
    for record in reader:
        yield previous + 1, record
        previous = reader.line_num


def evaluate_file(
    path: Path,
    *,
    label_column: str,
    text_column: str | None = None,
    label_map: Mapping[str, str] | None = None,
    language_column: str | None = None,
    analyzer: Any = None,
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Score every row of a labelled CSV/JSONL export with the model and with plain VADER."""
    from runbook.listen.complaint import default_complaint_analyzer
    from runbook.listen.language import detect_language
    from runbook.listen.sentiment import lexicon_analyzer

    model = analyzer or default_complaint_analyzer()
    vader = lexicon_analyzer()
    label_map = {k.lower(): v for k, v in (label_map or {}).items()}
    truth: list[str] = []
    ours: list[str] = []
    plain: list[str] = []
    skipped: list[tuple[int, str]] = []
    text_col = text_column
    for count, (line, record) in enumerate(_rows(path, encoding), start=1):
        if count == 1:
            columns = list(record)
            if label_column not in record:
                raise EvaluationError(f"{path}: no column {label_column!r} (columns: {', '.join(map(str, columns))})")
            if text_col is None:
                text_col = next(
                    (
                        c
                        for c in ("text", "full_text", "full text", "content", "message", "tweet")
                        for k in columns
                        if str(k).lower() == c
                    ),
                    None,
                )
                text_col = next((k for k in columns if str(k).lower() == text_col), None) if text_col else None
                if text_col is None:
                    raise EvaluationError(
                        f"{path}: no text column (columns: {', '.join(map(str, columns))}); give --text-column"
                    )
            elif text_col not in record:
                raise EvaluationError(f"{path}: no column {text_col!r} (columns: {', '.join(map(str, columns))})")
            if language_column is not None and language_column not in record:
                raise EvaluationError(
                    f"{path}: no column {language_column!r} (columns: {', '.join(map(str, columns))})"
                )
        raw = str(record.get(label_column) or "").strip()
        label = label_map.get(raw.lower()) or LABEL_ALIASES.get(raw.lower())
        if label is None:
            if not raw:
                skipped.append((line, f"{label_column}: empty"))
                continue
            seen = sorted({str(r.get(label_column)).strip() for _, r in _rows(path, encoding)} - {""})[:10]
            raise EvaluationError(
                f"{path}:{line}: unknown label {raw!r} in {label_column!r} (labels seen: "
                f"{', '.join(seen)}); map them, e.g. --map {_suggest(seen)}"
            )
        assert text_col is not None  # given, or found on the first row
        text = str(record.get(text_col) or "")
        language = str(record.get(language_column) or "") if language_column else ""
        language = language.strip().lower()[:8] or detect_language(text)
        truth.append(label)
        verdict = model.assess(text, language) if hasattr(model, "assess") else None
        ours.append(verdict.label if verdict else label_of_score(model.score(text, language)))
        plain.append(label_of_score(vader.score(text, language)))
        if progress is not None and count % 1000 == 0:
            progress(count)
    if not truth:
        raise EvaluationError(f"{path}: no labelled rows")
    return Report(
        file=str(path),
        rows=len(truth),
        model=getattr(model, "name", "model"),
        scores=scores(truth, ours),
        vader=scores(truth, plain),
        skipped=skipped,
    )


def _suggest(seen: Sequence[str]) -> str:
    guesses = []
    for label in seen:
        low = label.lower()
        target: str | None = next((c for c in CLASSES if low.startswith(c[:3]) or c.startswith(low[:3])), None)
        if target is None:
            target = {"-1": "negative", "0": "neutral", "1": "positive", "2": "positive"}.get(low)
        if target:
            guesses.append(f"{label}={target}")
    return ",".join(guesses) or "LABEL=negative,LABEL=neutral,LABEL=positive"


def format_scores(title: str, s: Scores) -> list[str]:
    lines = [
        f"{title}: macro-F1 {s.macro_f1:.3f}, accuracy {s.accuracy:.3f}",
        f"  {'class':10} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
    ]
    for label, m in s.per_class.items():
        lines.append(f"  {label:10} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:8d}")
    lines.append("  confusion (rows: labelled, columns: predicted)")
    labels = list(s.confusion)
    lines.append("  " + " " * 10 + "".join(f"{p:>10}" for p in labels))
    for t in labels:
        lines.append(f"  {t:10}" + "".join(f"{s.confusion[t][p]:10d}" for p in labels))
    return lines
