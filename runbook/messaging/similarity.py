"""Near-identical drafts: word 3-gram shingles, MinHash signatures banded into buckets (LSH), then
the exact Jaccard similarity of the candidates. Doctrine step 5: no copy-paste answers.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

_NOISE = re.compile(r"https?://\S+|[@#]\w+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
HASHES, ROWS = 32, 4  # 8 bands of 4 rows: a pair at 0.8 similarity shares a bucket with p ≈ 0.985
PER_BUCKET = 8  # compare each draft with at most this many earlier drafts per bucket: bounded work
_MASKS = tuple(random.Random(20140908).getrandbits(64) for _ in range(HASHES))
K = TypeVar("K", bound=Hashable)  # the caller's key of a draft (a reply row id)


def shingles(text: str, k: int = 3) -> frozenset[int]:
    """64-bit hashes of the word k-grams, ignoring @handles, #tags and links (those differ per
    person and would hide an otherwise identical text)."""
    words = _WORD.findall(_NOISE.sub(" ", text.casefold()))
    if len(words) < k:
        grams = [" ".join(words)] if words else []
    else:
        grams = [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]
    out = set()
    for gram in grams:
        data = gram.encode("utf-8")
        out.add(zlib.crc32(data) | (zlib.crc32(data, 0x9E3779B9) << 32))
    return frozenset(out)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def signature(sh: frozenset[int]) -> tuple[int, ...]:
    if not sh:
        return (0,) * HASHES
    items = list(sh)
    return tuple(min([x ^ m for x in items]) for m in _MASKS)


@dataclass(frozen=True)
class Match(Generic[K]):
    of: K  # the most similar other draft
    score: float


def near_duplicates(
    drafts: Iterable[tuple[K, str]], *, threshold: float = 0.8, only: set[K] | None = None
) -> dict[K, Match[K]]:
    """For each draft with a near-identical other (Jaccard >= threshold), its closest match.

    `only`: the keys that may be flagged (new drafts); the others (replies already sent) are
    compared against but not flagged themselves.
    """
    keys: list[K] = []
    sets: list[frozenset[int]] = []
    for key, text in drafts:
        keys.append(key)
        sets.append(shingles(text))
    buckets: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    best: dict[int, Match[K]] = {}
    for i, sh in enumerate(sets):
        sig = signature(sh)
        seen: set[int] = set()
        for band in range(HASHES // ROWS):
            members = buckets.setdefault((band, sig[band * ROWS : (band + 1) * ROWS]), [])
            for j in members[-PER_BUCKET:]:
                if j in seen:
                    continue
                seen.add(j)
                score = jaccard(sh, sets[j])
                if score >= threshold:
                    for a, b in ((i, j), (j, i)):
                        if a not in best or score > best[a].score:
                            best[a] = Match(of=keys[b], score=round(score, 3))
            members.append(i)
    return {keys[i]: m for i, m in best.items() if only is None or keys[i] in only}
