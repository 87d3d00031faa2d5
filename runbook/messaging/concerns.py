"""What a person's mention is about, in a word the reply templates branch on (hurt, explain,
delete, leave, affected, press, supportive, mocking, question, general), and the words of theirs a
reply can reflect back: their own phrase, without handles, links, tags' # signs or emoji.
"""

from __future__ import annotations

import re
from functools import lru_cache

from runbook.messaging.templates import clip

# First match wins: what the person most needs acknowledged comes first.
CONCERNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "en": (
        ("affected", ("survivor", "survivors", "victim", "victims", "people sharing", "their stories", "my kids",
                      "hope the person", "people who", "abuse", "domestic violence")),
        ("hurt", ("disgust", "disgusting", "disgusted", "offensive", "offended", "shameful", "shame", "appalling",
                  "sick", "how could you", "not okay", "not ok", "unbelievable", "outrageous", "gross", "horrible")),
        ("delete", ("delete", "take it down", "take this down", "remove it", "still up")),
        ("explain", ("explain", "how did", "how does this", "how could this", "who runs", "who approved",
                     "what happened", "tell us", "was your account", "hacked", "intentional")),
        ("leave", ("never flying", "never buying", "never again", "boycott", "unfollow", "done with", "cancel",
                   "unsubscribe", "last time")),
        ("press", ("breaking", "under fire", "goes viral", "screenshots", "spreading", "says staff", "rogue tweet")),
        ("supportive", ("mistakes happen", "own it", "feel for", "happens to the best", "love how", "at least",
                        "that matters", "donate", "donating", "best collab", "move on")),
        ("mocking", ("😂", "🤣", "lol", "lmao", "101", "above and beyond", "indeed", "worst monday", "favourite hashtag",
                     "favorite hashtag", "for a good cause", "bar tab", "slizzerd")),
    ),
    "nl": (
        ("affected", ("slachtoffer", "slachtoffers", "overlevenden", "hun verhaal", "mijn kinderen", "huiselijk geweld")),
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
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")


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


def quote_of(text: str, limit: int = 80) -> str:
    """A short phrase of theirs: the first sentence that says something, clipped at a word."""
    clean = cleaned(text)
    for sentence in re.split(r"(?<=[.!?])\s+", clean):
        if len(re.findall(r"\w+", sentence)) >= 3:
            return clip(sentence.rstrip(".!? "), limit)
    return clip(clean.rstrip(".!? "), limit)
