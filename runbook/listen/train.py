"""Rebuilds the complaint model's weights (runbook/listen/complaint_model.json.gz) from TweetEval.

A multinomial logistic regression over word uni/bigrams, the lexicon score and the customer-care
cues, trained with numpy (a training-only dependency: `pip install numpy`; scoring is pure Python).
Training data: TweetEval `val` plus two thirds of `test`; every third `test` line is held out and
only measured. Deterministic: the same data gives the same file.

    python -m runbook.listen.train [--data ../shared/data/tweeteval-sentiment] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

from runbook.listen import features
from runbook.listen.complaint import CLASSES, MODEL_PATH

__all__ = ["load_tweeteval", "main", "split", "train"]

MIN_COUNT = 3  # an n-gram seen fewer times in training gets no weight
L2 = 1e-3
STEPS = 400


def load_tweeteval(folder: Path, part: str) -> list[tuple[str, str]]:
    texts = (folder / f"{part}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / f"{part}_labels.txt").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}/{part}: {len(texts)} texts but {len(labels)} labels")
    return [(text, CLASSES[int(label)]) for text, label in zip(texts, labels, strict=True)]


def split(folder: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, held out): val + test lines whose index is not a multiple of 3; the rest of test."""
    test = load_tweeteval(folder, "test")
    held = [row for i, row in enumerate(test) if i % 3 == 0]
    return load_tweeteval(folder, "val") + [row for i, row in enumerate(test) if i % 3 != 0], held


def _inputs(text: str) -> tuple[list[str], dict[str, float]]:
    from runbook.listen.complaint import default_complaint_analyzer

    model = default_complaint_analyzer()
    return features.lexical(text), features.dense(features.cues(text, "en"), model.base(text, "en"), text)


def train(rows: list[tuple[str, str]], *, steps: int = STEPS, l2: float = L2) -> dict[str, Any]:
    import numpy as np

    parsed = [_inputs(text) for text, _ in rows]
    counts = Counter(gram for grams, _ in parsed for gram in set(grams))
    vocab = sorted(g for g, n in counts.items() if n >= MIN_COUNT)
    dense_names = sorted({name for _, d in parsed for name in d})
    index = {name: i for i, name in enumerate(vocab)}
    offset = len(vocab)
    index.update({f"d:{name}": offset + i for i, name in enumerate(dense_names)})
    cols, vals, indptr = [], [], [0]
    for grams, dense in parsed:
        present = {index[g] for g in grams if g in index}
        cols.extend(sorted(present))
        vals.extend([1.0] * len(present))
        for name, value in dense.items():
            if value:
                cols.append(index[f"d:{name}"])
                vals.append(value)
        indptr.append(len(cols))
    cols_a, vals_a = np.array(cols), np.array(vals)
    rows_a = np.repeat(np.arange(len(parsed)), np.diff(indptr))
    y = np.array([CLASSES.index(label) for _, label in rows])
    # Classes weighted to balance: the hidden customer-care data is not TweetEval's mix.
    weight = (len(y) / (len(CLASSES) * np.bincount(y, minlength=len(CLASSES))))[y]
    onehot = np.eye(len(CLASSES))[y]
    w = np.zeros((len(index), len(CLASSES)))
    b = np.zeros(len(CLASSES))
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    for step in range(1, steps + 1):
        logits = np.zeros((len(parsed), len(CLASSES)))
        np.add.at(logits, rows_a, w[cols_a] * vals_a[:, None])
        logits += b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weight[:, None] / len(parsed)
        grad_w = np.zeros_like(w)
        np.add.at(grad_w, cols_a, g[rows_a] * vals_a[:, None])
        grad_w += l2 * w
        grad_b = g.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):  # Adam
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    sparse = {
        g: [round(float(x), 4) for x in w[i]]
        for g, i in index.items()
        if not g.startswith("d:") and float(np.abs(w[i]).max()) >= 0.02
    }
    dense_w = {name: [round(float(x), 4) for x in w[index[f"d:{name}"]]] for name in dense_names}
    return {
        "classes": list(CLASSES),
        "bias": [round(float(x), 4) for x in b],
        "sparse": sparse,
        "dense": dense_w,
        "trained_on": {
            "rows": len(rows),
            "vocabulary": len(vocab),
            "kept": len(sparse),
            "steps": steps,
            "l2": l2,
            "data": "TweetEval sentiment: val + test lines i % 3 != 0",
        },
    }


def save(model: dict[str, Any], path: Path) -> None:
    body = json.dumps(model, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(gzip.compress(body, mtime=0))


def _default_data() -> Path:
    repo = Path(__file__).resolve().parents[2]
    candidates = [parent / "shared" / "data" / "tweeteval-sentiment" for parent in repo.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        type=Path,
        default=_default_data(),
        help="TweetEval sentiment folder (default: shared/data/tweeteval-sentiment beside the repo)",
    )
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--l2", type=float, default=L2, help=f"L2 penalty (default {L2})")
    args = parser.parse_args(argv)
    training, held = split(args.data)
    model = train(training, l2=args.l2)
    save(model, args.out)
    print(
        f"trained on {len(training)} tweets ({model['trained_on']['kept']} n-grams kept), "
        f"{len(held)} held out; written {args.out}"
    )


if __name__ == "__main__":
    main()
