"""What a person's mention is about, in a word the reply templates branch on (hurt, explain,
delete, leave, affected, press, supportive, mocking, question, general), and the words of theirs a
reply can reflect back: their own phrase, without handles, links, tags' # signs or emoji.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from runbook.messaging.templates import clip

# First match wins: what the person most needs acknowledged comes first.
CONCERNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "en": (
        (
            "affected",
            (
                "survivor",
                "survivors",
                "victim",
                "victims",
                "people sharing",
                "their stories",
                "my kids",
                "hope the person",
                "people who",
                "abuse",
                "domestic violence",
            ),
        ),
        (
            "hurt",
            (
                "disgust",
                "disgusting",
                "disgusted",
                "offensive",
                "offended",
                "shameful",
                "shame",
                "appalling",
                "sick",
                "how could you",
                "not okay",
                "not ok",
                "unbelievable",
                "outrageous",
                "gross",
                "horrible",
            ),
        ),
        ("delete", ("delete", "take it down", "take this down", "remove it", "still up")),
        (
            "explain",
            (
                "explain",
                "how did",
                "how does this",
                "how could this",
                "who runs",
                "who approved",
                "what happened",
                "tell us",
                "was your account",
                "hacked",
                "intentional",
            ),
        ),
        (
            "leave",
            (
                "never flying",
                "never buying",
                "never again",
                "boycott",
                "unfollow",
                "done with",
                "cancel",
                "unsubscribe",
                "last time",
            ),
        ),
        ("press", ("breaking", "under fire", "goes viral", "screenshots", "spreading", "says staff", "rogue tweet")),
        (
            "supportive",
            (
                "mistakes happen",
                "own it",
                "feel for",
                "happens to the best",
                "love how",
                "at least",
                "that matters",
                "donate",
                "donating",
                "best collab",
                "move on",
            ),
        ),
        (
            "mocking",
            (
                "😂",
                "🤣",
                "lol",
                "lmao",
                "101",
                "above and beyond",
                "indeed",
                "worst monday",
                "favourite hashtag",
                "favorite hashtag",
                "for a good cause",
                "bar tab",
                "slizzerd",
            ),
        ),
    ),
    "nl": (
        (
            "affected",
            ("slachtoffer", "slachtoffers", "overlevenden", "hun verhaal", "mijn kinderen", "huiselijk geweld"),
        ),
        ("hurt", ("schandalig", "walgelijk", "afgang", "kwetsend", "beschamend", "kan echt niet", "belachelijk")),
        ("delete", ("verwijder", "haal het weg", "haal dit weg", "staat nog")),
        ("explain", ("verklaring", "hoe kon", "hoe kan", "wie keurt", "wat is er gebeurd", "gehackt", "oplossen")),
        ("leave", ("zeg mijn abonnement op", "nooit meer", "boycot", "ontvolg", "klaar mee")),
        ("press", ("breaking", "onder vuur", "gaat viraal")),
        ("supportive", ("kan gebeuren", "fouten maken", "sterkte", "netjes opgelost")),
        ("mocking", ("😂", "🤣", "haha", "stagiair", "zwaar vandaag")),
    ),
}

_HANDLE = re.compile(r"(?<![\w.])@\w+")
_LEADING_HANDLES = re.compile(r"^(?:@\w+[\s,:]*)+")
_URL = re.compile(r"https?://\S+")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")


@lru_cache(maxsize=8)
def _compiled(language: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    table = CONCERNS.get(language) or CONCERNS["en"]
    out = []
    for concern, words in table:
        parts = [re.escape(w) if not w[0].isalnum() else r"(?<!\w)" + re.escape(w) + r"(?!\w)" for w in words]
        out.append((concern, re.compile("|".join(parts), re.IGNORECASE)))
    return tuple(out)


def concern_of(text: str, language: str = "en") -> str:
    for concern, pattern in _compiled(language):
        if pattern.search(text):
            return concern
    return "question" if "?" in text else "general"


def cleaned(text: str) -> str:
    """Their text without other people's handles, links, emoji and tags' # (a reply that repeats a
    hashtag joins it again: the DiGiorno mistake)."""
    text = _LEADING_HANDLES.sub("", text.strip())  # "@brand @x thanks" is addressed, not said
    text = _EMOJI.sub(" ", _URL.sub(" ", _HANDLE.sub(lambda m: m.group(0)[1:], text)))
    text = re.sub(r"(?<![\w&])#(\w+)", r"\1", text)
    text = re.sub(r"\s+([:;,.!?])", r"\1", " ".join(text.split()))
    return text.strip(" .,;:-–")


def quote_of(text: str, limit: int = 80, *, language: str = "en", terms: tuple[str, ...] = ()) -> str:
    """A short phrase of theirs: the complaint sentence (the most negative one, or the one naming
    their concern's words), not merely the first; clipped at a word."""
    clean = cleaned(text)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", clean) if len(re.findall(r"\w+", s)) >= 3]
    if not sentences:
        return clip(clean.rstrip(".!? "), limit)
    if len(sentences) == 1:
        return clip(sentences[0].rstrip(".!? "), limit)
    return clip(max(sentences, key=lambda s: _complaint_weight(s, language, terms)).rstrip(".!? "), limit)


def _complaint_weight(sentence: str, language: str, terms: tuple[str, ...]) -> float:
    from runbook.listen.complaint import assess_text

    verdict = assess_text(sentence, language)
    named = sum(1 for t in terms if t and t.casefold() in sentence.casefold())
    # Negative first, then what names the concern; a thank-you opener weighs nothing.
    return -verdict.score + (0.5 if verdict.label == "negative" else 0.0) + 0.4 * named


# What a concern is about, for choosing a reply template: matched against the concern's words
# (English and Dutch). First match wins; a team adds topics with `topics:` on the reply step.
TOPICS: dict[str, tuple[str, ...]] = {
    "cancellation": (
        "cancel",
        "canceled",
        "cancelled",
        "cancellation",
        "rebook",
        "geannuleerd",
        "annulering",
        "uitgevallen",
        "rijdt niet",
    ),
    "delay": ("delay", "delayed", "late", "waiting", "wait", "vertraging", "vertraagd", "te laat"),
    "baggage": ("bag", "bags", "luggage", "baggage", "suitcase", "koffer", "bagage"),
    "refund": ("refund", "money back", "charged", "fee", "terugbetaling", "geld terug"),
    "staff": (
        "rude",
        "agent",
        "attendant",
        "crew",
        "staff",
        "unprofessional",
        "onbeschoft",
        "medewerker",
        "conducteur",
    ),
    "service": (
        "customer service",
        "hold",
        "phone",
        "call",
        "callback",
        "no reply",
        "nobody answers",
        "email",
        "klantenservice",
        "wacht",
        "bellen",
        "antwoord",
    ),
    "outage": ("down", "outage", "app", "website", "crash", "error", "storing", "werkt niet"),
    "post": ("hashtag", "tweet", "post", "image", "joke", "whyistayed", "offensive", "disgusting"),
}


def topic_of(words: Iterable[str], topics: dict[str, tuple[str, ...]] | None = None) -> str:
    """The topic whose words the concern's words name most (in their order of weight); "general"."""
    table = topics or TOPICS
    ranked = list(words)
    best, best_score = "general", 0.0
    for topic, cues in table.items():
        score = 0.0
        for rank, word in enumerate(ranked):
            low = word.casefold()
            if any(low == c or low.startswith(c) or c in low.split() or (" " in c and c in low) for c in cues):
                score += 1.0 / (1 + rank)
        if score > best_score:
            best, best_score = topic, score
    return best
