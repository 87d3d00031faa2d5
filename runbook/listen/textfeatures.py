"""Words of a mention as features for grouping: lower-cased, without handles, links, numbers and
English or Dutch stop words, lightly stemmed (delayed/delays -> delay, koffers -> koffer), with
adjacent-word bigrams ("customer service"), and a readable surface form for each stem.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["STOP_WORDS", "features", "stem", "tokens"]

_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<![\w.])@\w+|&\w+;")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

STOP_WORDS = frozenset(
    """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further get got had hadn't has hasn't have haven't having he her here hers herself him himself his how
i i'm i've i'd i'll if in into is isn't it it's its itself just let's me more most much my myself no nor not now
of off on once only or other ought our ours ourselves out over own same she should shouldn't so some such than
that that's the their theirs them themselves then there there's these they they're this those through to too
under until up us very was wasn't we we're we've were weren't what what's when where which while who whom why
will with won't would wouldn't you you're you've your yours yourself yourselves im ive dont cant wont didnt
doesnt isnt thats u ur ok okay yes yeah hey hi hello please thanks thank via rt amp today now still even really
one two get go going gonna want know need like would could guys again ever back way well since every
de het een en van ik je jij u uw we wij ze zij hij is was zijn ben bent heeft hebben had hadden dat die dit
deze niet geen wel ook nog al maar of om op in aan met voor naar bij uit over tot door dan als er hier daar
wat wie waar hoe waarom mijn jullie ons onze hun haar zo te toch nu even echt gewoon kan kunnen wordt worden
werd zou zouden moet moeten mag heb hebt had alweer weer dus want jullie jou je mij me men iets niks niets
""".split()
)


def stem(word: str, language: str = "en") -> str:
    """A light suffix stripper: enough to merge the forms people use in complaints."""
    w = word.replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if language == "nl":
        for suffix in ("heden", "ingen", "ing", "en", "s", "e"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
    else:
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        else:
            for suffix in ("ations", "ation", "ings", "ing", "edly", "ed", "es", "s"):
                if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
                    w = w[: -len(suffix)]
                    break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]  # cancell -> cancel, stopp -> stop
    return w


def tokens(text: str, language: str = "en", extra_stop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(stem, surface) pairs of the content words, in order."""
    out = []
    for raw in _WORD.findall(_NOISE.sub(" ", text.replace("#", " ")).lower()):
        word = raw.replace("’", "'")
        if len(word) < 2 or word in STOP_WORDS or word in extra_stop:
            continue
        out.append((stem(word, language), word))
    return out


def features(
    text: str,
    language: str = "en",
    extra_stop: frozenset[str] = frozenset(),
    surfaces: dict[str, Counter] | None = None,
) -> Counter:
    """Unigram stems and bigrams of adjacent content words; `surfaces` collects readable forms."""
    found = tokens(text, language, extra_stop)
    counts: Counter = Counter(s for s, _ in found)
    for (a, sa), (b, sb) in zip(found, found[1:]):
        if a != b:
            counts[f"{a} {b}"] += 1
            if surfaces is not None:
                surfaces.setdefault(f"{a} {b}", Counter())[f"{sa} {sb}"] += 1
    if surfaces is not None:
        for s, w in found:
            surfaces.setdefault(s, Counter())[w] += 1
    return counts


def surface(stem_or_bigram: str, surfaces: dict[str, Counter]) -> str:
    forms = surfaces.get(stem_or_bigram)
    return forms.most_common(1)[0][0] if forms else stem_or_bigram


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
