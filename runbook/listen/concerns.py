"""Concerns: what people are upset about, found without a list of topics. The negative mentions of
a window are grouped by spherical k-means over TF-IDF word and bigram features (seeded by the most
distinctive terms, k chosen by silhouette), and each group is labelled by its most distinctive
words. Works for any brand and vocabulary (English and Dutch stop words and stemming).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook.listen.textfeatures import features, surface

__all__ = ["Concern", "ConcernReport", "Doc", "MEDIA", "concerns_in_window", "find_concerns", "is_media"]

MAX_CONCERNS = 8
SAMPLE = 1500  # k is chosen on at most this many documents (the final grouping uses all)
ITERATIONS = 12
MERGE_AT = 0.5  # two groups whose centroids are this alike are one concern split in two
ASSIGN_AT = 0.25  # a non-negative mention joins a concern at this cosine similarity (for its negative share)

# Newsrooms by handle or link domain ("press" means these, not the word "says"). A team sets its
# own with `media:` in listening.yaml.
MEDIA = (
    "cnn",
    "bbc",
    "bbcnews",
    "bbcbreaking",
    "nytimes",
    "washingtonpost",
    "wsj",
    "reuters",
    "ap",
    "afp",
    "bloomberg",
    "guardian",
    "guardiannews",
    "usatoday",
    "nbcnews",
    "abc",
    "cbsnews",
    "foxnews",
    "npr",
    "skynews",
    "ft",
    "forbes",
    "businessinsider",
    "huffpost",
    "buzzfeednews",
    "mashable",
    "techcrunch",
    "theverge",
    "nos",
    "nosnieuws",
    "rtlnieuws",
    "nunl",
    "telegraaf",
    "volkskrant",
    "nrc",
    "adnl",
    "parool",
    "trouw",
    "cnn.com",
    "bbc.co.uk",
    "nytimes.com",
    "reuters.com",
    "apnews.com",
    "theguardian.com",
    "nos.nl",
    "nu.nl",
    "telegraaf.nl",
    "volkskrant.nl",
    "nrc.nl",
    "ad.nl",
    "rtlnieuws.nl",
)
_DOMAIN = re.compile(r"https?://(?:www\.)?([^/\s]+)", re.IGNORECASE)


def is_media(author: str, text: str, media: Iterable[str] | None = None) -> bool:
    """The author's handle, or a link's domain, is on the media list."""
    names = {m.lstrip("@").casefold() for m in (MEDIA if media is None else media)}
    if author.lstrip("@").casefold() in names:
        return True
    for domain in _DOMAIN.findall(text):
        host = domain.casefold()
        if host in names or any(host.endswith("." + n) for n in names if "." in n):
            return True
    return False


@dataclass(frozen=True)
class Doc:
    key: str  # the mention's ref (or any id)
    text: str
    language: str = "en"
    author: str = ""
    followers: int = 0
    negative: bool = True
    media: bool = False


@dataclass
class Concern:
    id: str  # c1, c2, ... by size
    label: str
    terms: list[str]
    size: int  # negative mentions in it
    negative_share: float  # of every mention about it (non-negative ones assigned by similarity too)
    share: float  # of the negative mentions grouped
    samples: list[str]
    top_authors: list[dict[str, Any]]
    keys: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    press: int = 0

    def summary(self, samples: int = 3) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "terms": self.terms[:6],
            "size": self.size,
            "negative_share": round(self.negative_share, 3),
            "share": round(self.share, 3),
            "samples": self.samples[:samples],
            "top_authors": self.top_authors[:3],
            "press": self.press,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(samples=len(self.samples)),
            "top_authors": self.top_authors,
            "authors": self.authors,
            "keys": self.keys,
        }


@dataclass
class ConcernReport:
    concerns: list[Concern]
    negative: int  # negative mentions in the window
    grouped: int
    other: int  # negative mentions in no concern (too few words in common with any)
    k: int
    silhouette: float
    model: _Model | None = None
    since: str = ""
    until: str = ""

    # Field by field: the JSON rounds the silhouette and nests the concerns.
    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "negative": self.negative,
            "grouped": self.grouped,
            "other": self.other,
            "k": self.k,
            "silhouette": round(self.silhouette, 3),
            "concerns": [c.to_dict() for c in self.concerns],
        }

    def assign(self, text: str, language: str = "en") -> Concern | None:
        """The concern a new text is about (nearest group), or None when it shares too little."""
        if self.model is None:
            return None
        index = self.model.nearest(text, language)
        if index is None:
            return None
        return next((c for c in self.concerns if c.id == self.model.ids.get(index)), None)

    def by_key(self) -> dict[str, Concern]:
        return {key: c for c in self.concerns for key in c.keys}

    def markdown(self) -> str:
        if not self.concerns:
            return f"No concerns: {self.negative} negative mentions, too few to group."
        lines = [
            f"{self.negative} negative mentions; {self.grouped} in {len(self.concerns)} concerns.",
            "",
            "| concern | mentions | negative | example |",
            "|---|---|---|---|",
        ]
        for c in self.concerns:
            example = (c.samples[0] if c.samples else "").replace("|", "/").replace("\n", " ")[:100]
            lines.append(f"| {c.id} {c.label} | {c.size} | {c.negative_share:.0%} | {example} |")
        return "\n".join(lines)


class _Model:
    """Term weights and centroids: assigns any text to its nearest concern."""

    def __init__(self, weights: dict[str, float], centroids: list[dict[str, float]], stop: frozenset[str]):
        self.weights = weights
        self.centroids = centroids
        self.stop = stop
        self.ids: dict[int, str] = {}

    def vector(self, text: str, language: str) -> dict[str, float]:
        counts = features(text, language, self.stop)
        vec = {t: (1 + math.log(n)) * self.weights[t] for t, n in counts.items() if t in self.weights}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {t: v / norm for t, v in vec.items()} if norm else {}

    def nearest(self, text: str, language: str, at_least: float = ASSIGN_AT) -> int | None:
        vec = self.vector(text, language)
        best, index = 0.0, None
        for i, c in enumerate(self.centroids):
            if i not in self.ids:
                continue
            sim = _dot(vec, c)
            if sim > best:
                best, index = sim, i
        return index if best >= at_least else None


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _centroid(vectors: Sequence[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for vec in vectors:
        for t, v in vec.items():
            total[t] = total.get(t, 0.0) + v
    norm = math.sqrt(sum(v * v for v in total.values()))
    return {t: v / norm for t, v in total.items()} if norm else {}


def _kmeans(vectors: Sequence[dict[str, float]], centroids: list[dict[str, float]]) -> tuple[list[int], list[dict]]:
    """Spherical k-means from the given centroids; -1 for a document sharing no term with any."""
    labels = [-1] * len(vectors)
    for _ in range(ITERATIONS):
        changed = False
        for i, vec in enumerate(vectors):
            best, label = 0.0, -1
            for c, centroid in enumerate(centroids):
                sim = _dot(vec, centroid)
                if sim > best:
                    best, label = sim, c
            if label != labels[i]:
                labels[i], changed = label, True
        groups: list[list[dict[str, float]]] = [[] for _ in centroids]
        for vec, label in zip(vectors, labels):
            if label >= 0:
                groups[label].append(vec)
        centroids = [_centroid(g) if g else c for g, c in zip(groups, centroids)]
        if not changed:
            break
    return labels, centroids


def _silhouette(vectors: Sequence[dict[str, float]], labels: Sequence[int], centroids: list[dict]) -> float:
    """Simplified silhouette (distances to centroids); documents in no group count as 0."""
    if len(centroids) < 2:
        return 0.0
    total = 0.0
    for vec, label in zip(vectors, labels):
        if label < 0:
            continue
        sims = [_dot(vec, c) for c in centroids]
        a = 1 - sims[label]
        b = 1 - max(s for i, s in enumerate(sims) if i != label)
        total += (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return total / len(vectors) if vectors else 0.0


def _merge_alike(
    vectors: Sequence[dict[str, float]], labels: list[int], centroids: list[dict[str, float]]
) -> tuple[list[int], list[dict[str, float]]]:
    """Merge the most alike pair of groups while their centroids' cosine is at least MERGE_AT:
    k-means with a generous k may split one concern ("cancelled flight" / "cancelled, seat")."""
    while len(centroids) > 2:
        best, pair = MERGE_AT, None
        for i in range(len(centroids)):
            for j in range(i + 1, len(centroids)):
                sim = _dot(centroids[i], centroids[j])
                if sim >= best:
                    best, pair = sim, (i, j)
        if pair is None:
            break
        keep, gone = pair
        labels = [keep if label == gone else (label - 1 if label > gone else label) for label in labels]
        del centroids[gone]
        centroids[keep if keep < gone else keep - 1] = _centroid(
            [v for v, label in zip(vectors, labels) if label == (keep if keep < gone else keep - 1)]
        )
    return labels, centroids


def _coherence(vectors: Sequence[dict[str, float]], docs: set[int]) -> float:
    """How alike the documents holding a term are: the length of their mean unit vector (its
    square is about their average cosine similarity). "flight" is everywhere and scores low;
    "lost" sits beside "bag" and "luggage" and scores high."""
    total: dict[str, float] = {}
    for i in docs:
        for t, v in vectors[i].items():
            total[t] = total.get(t, 0.0) + v
    return math.sqrt(sum(v * v for v in total.values())) / len(docs) if docs else 0.0


def _seeds(
    postings: dict[str, set[int]], weights: dict[str, float], vectors: Sequence[dict[str, float]], limit: int, n: int
) -> list[str]:
    """Frequent, coherent terms whose documents overlap little: one per would-be concern."""
    candidates = [t for t, docs in postings.items() if len(docs) <= 0.35 * n]
    candidates = sorted(candidates, key=lambda t: -len(postings[t]) * weights[t])[:60]
    score = {t: math.sqrt(len(postings[t])) * weights[t] * _coherence(vectors, postings[t]) ** 2 for t in candidates}
    chosen: list[str] = []
    for term in sorted(candidates, key=lambda t: (-score[t], t)):
        docs = postings[term]
        if any(len(docs & postings[c]) >= 0.4 * min(len(docs), len(postings[c])) for c in chosen):
            continue  # a co-term of a concern already seeded ("lost" beside "bag")
        chosen.append(term)
        if len(chosen) >= limit:
            break
    return chosen


def find_concerns(
    docs: Sequence[Doc],
    *,
    background: Sequence[Doc] = (),
    max_concerns: int = MAX_CONCERNS,
    stop: Iterable[str] = (),
    min_size: int | None = None,
) -> ConcernReport:
    """Group `docs` (the negative mentions) into concerns. `background` (the window's other
    mentions) makes words common to every conversation ("flight") count less, and gives each
    concern its negative share. `stop`: words never used (the brand's own names)."""
    stop_words = frozenset(s.casefold().lstrip("@") for s in stop)
    surfaces: dict[str, Counter] = {}
    counted = [features(d.text, d.language, stop_words, surfaces) for d in docs]
    n = len(docs)
    empty = ConcernReport(concerns=[], negative=n, grouped=0, other=n, k=0, silhouette=0.0)
    if n < 4:
        return empty
    df: Counter = Counter()
    for terms in counted:
        df.update(terms.keys())
    floor = max(2, math.ceil(0.004 * n))
    vocab = {t for t, f in df.items() if f >= floor and f <= 0.6 * n}
    if not vocab:
        return empty
    bg_counts = [features(d.text, d.language, stop_words) for d in background]
    bg_df: Counter = Counter()
    for terms in bg_counts:
        bg_df.update(t for t in terms if t in vocab)
    weights = {}
    for t in vocab:
        idf = math.log((n + 1) / (df[t] + 1)) + 1
        # Lift against the other mentions: "flight" is everywhere, "lost bag" is a complaint.
        lift = ((df[t] + 1) / (n + 2)) / ((bg_df[t] + 1) / (len(background) + 2)) if background else 1.0
        weights[t] = idf * min(2.0, max(0.3, lift)) * (1.3 if " " in t else 1.0)
    model = _Model(weights, [], stop_words)
    vectors = [model.vector(d.text, d.language) for d in docs]
    postings: dict[str, set[int]] = {}
    for i, vec in enumerate(vectors):
        for t in vec:
            postings.setdefault(t, set()).add(i)
    k_max = max(2, min(max_concerns, n // 4))
    seeds = _seeds(postings, weights, vectors, k_max, n)
    if len(seeds) < 2:
        return empty

    def start(terms: Sequence[str], subset: Sequence[int]) -> list[dict[str, float]]:
        chosen = set(subset)
        return [
            _centroid([vectors[i] for i in postings[t] if i in chosen] or [vectors[next(iter(postings[t]))]])
            for t in terms
        ]

    step = max(1, n // SAMPLE)
    sample = list(range(0, n, step))
    best_k, best_score = 2, -2.0
    for k in range(2, len(seeds) + 1):
        labels, centroids = _kmeans([vectors[i] for i in sample], start(seeds[:k], sample))
        score = _silhouette([vectors[i] for i in sample], labels, centroids)
        if score >= best_score - 0.01:  # near-ties go to more, finer concerns
            best_k, best_score = k, max(score, best_score)
    labels, centroids = _kmeans(vectors, start(seeds[:best_k], range(n)))
    labels, centroids = _merge_alike(vectors, labels, centroids)
    best_k = len(centroids)
    model.centroids = centroids
    background_labels = [model.nearest(d.text, d.language) for d in background]
    min_size = min_size if min_size is not None else max(2, math.ceil(0.01 * n))
    found: list[Concern] = []
    for c in range(best_k):
        members = [i for i, label in enumerate(labels) if label == c]
        if len(members) < min_size:
            continue
        found.append(
            _describe(
                c,
                members,
                docs,
                counted,
                labels,
                surfaces,
                weights,
                also=sum(1 for b in background_labels if b == c),
                total=n,
            )
        )
    found.sort(key=lambda x: (-x.size, x.label))
    for number, concern in enumerate(found, start=1):
        model.ids[int(concern.id)] = f"c{number}"
        concern.id = f"c{number}"
    grouped = sum(c.size for c in found)
    return ConcernReport(
        concerns=found, negative=n, grouped=grouped, other=n - grouped, k=best_k, silhouette=best_score, model=model
    )


def _describe(
    c: int,
    members: list[int],
    docs: Sequence[Doc],
    counted: list[Counter],
    labels: list[int],
    surfaces: dict[str, Counter],
    weights: dict[str, float],
    *,
    also: int,
    total: int,
) -> Concern:
    inside: Counter = Counter()
    for i in members:
        inside.update(t for t in counted[i] if t in weights)
    outside_n = max(1, total - len(members))
    outside: Counter = Counter()
    for i, label in enumerate(labels):
        if label != c:
            outside.update(t for t in counted[i] if t in inside)
    score = {t: inside[t] / len(members) - outside[t] / outside_n for t in inside}
    ranked = sorted((t for t in score if score[t] > 0), key=lambda t: (-score[t], t))
    terms: list[str] = []
    for t in ranked:
        words = t.split()
        # A phrase says more than its words: keep "lost bag" and drop "bag" when both score alike.
        if any(t in kept.split() for kept in terms if " " in kept):
            continue
        if len(words) == 2:
            terms = [k for k in terms if not (k in words and score[t] >= 0.6 * score[k])]
            if any(k in words for k in terms):
                continue
        terms.append(t)
        if len(terms) >= 6:
            break
    readable = [surface(t, surfaces) for t in terms]
    by_reach: dict[str, dict[str, Any]] = {}
    for i in members:
        d = docs[i]
        entry = by_reach.setdefault(d.author, {"author": d.author, "followers": 0, "mentions": 0})
        entry["followers"] = max(entry["followers"], d.followers)
        entry["mentions"] += 1
    # Samples: the members most like the group (most of its distinctive terms), shortest first on a tie.
    top = set(terms[:4])
    samples = sorted(members, key=lambda i: (-len(top & set(counted[i])), len(docs[i].text), i))[:5]
    negatives = sum(1 for i in members if docs[i].negative)
    return Concern(
        id=str(c),
        label=", ".join(readable[:3]) or "other",
        terms=readable,
        size=len(members),
        negative_share=negatives / (len(members) + also) if members else 0.0,
        share=len(members) / total,
        samples=[docs[i].text[:280] for i in samples],
        top_authors=sorted(by_reach.values(), key=lambda a: (-a["followers"], a["author"]))[:5],
        keys=[docs[i].key for i in members],
        authors=sorted({docs[i].author for i in members}),
        press=sum(1 for i in members if docs[i].media),
    )


def concerns_in_window(
    engine: Any,
    *,
    accounts: Sequence[tuple[str | None, str]] | None,
    since: datetime,
    until: datetime,
    media: Iterable[str] | None = None,
    max_concerns: int = MAX_CONCERNS,
) -> ConcernReport:
    """The concerns of the negative mentions stored for the brand accounts in [since, until)."""
    import sqlalchemy as sa

    from runbook.audit.models import as_utc
    from runbook.listen.spikes import brand_window
    from runbook.listen.tables import mentions

    since, until = as_utc(since), as_utc(until)
    where = brand_window(accounts, since, until)
    columns = (
        mentions.c.ref,
        mentions.c.text,
        mentions.c.language,
        mentions.c.author,
        mentions.c.author_followers,
        mentions.c.negative,
        mentions.c.account,
    )
    with engine.connect() as connection:
        rows = connection.execute(sa.select(*columns).where(*where).order_by(mentions.c.epoch, mentions.c.id)).all()
    media_list = list(media) if media is not None else None
    docs = [
        Doc(
            key=r.ref,
            text=r.text,
            language=r.language if r.language == "nl" else "en",
            author=r.author,
            followers=int(r.author_followers or 0),
            negative=bool(r.negative),
            media=is_media(r.author, r.text, media_list),
        )
        for r in rows
    ]
    brand_words = {r.account.casefold() for r in rows} | {h.casefold() for _, h in (accounts or [])}
    report = find_concerns(
        [d for d in docs if d.negative],
        background=[d for d in docs if not d.negative],
        max_concerns=max_concerns,
        stop=brand_words,
    )
    report.since, report.until = since.isoformat(), until.isoformat()
    return report
