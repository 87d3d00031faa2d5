"""Bluesky text, without the network: rich-text facets (mentions, links, tags) at UTF-8 byte offsets,
splitting a long statement into a thread of posts within the grapheme limit, and record keys (TIDs).
"""

from __future__ import annotations

import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_GRAPHEMES", "Facet", "find_facets", "graphemes", "new_tid", "split_thread"]

MAX_GRAPHEMES = 300  # app.bsky.feed.post text maxGraphemes
# The patterns of Bluesky's own rich-text detection (@atproto/api RichText.detectFacets), simplified.
MENTION_RE = re.compile(
    r"(?:^|\s|\()(@([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}"
    r"[a-zA-Z0-9])?)"
)
URL_RE = re.compile(r"(?:^|\s|\()(https?://\S+)", re.IGNORECASE)  # bare domains stay plain text
TAG_RE = re.compile(r"(?:^|\s)([#＃])(\S+)")
TRAILING_PUNCT = ".,;:!?"


@dataclass(frozen=True)
class Facet:
    start: int  # UTF-8 byte offsets, end exclusive
    end: int
    kind: str  # mention | link | tag
    value: str  # the handle (mention), URI (link) or tag without '#'


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def find_facets(text: str) -> list[Facet]:
    out: list[Facet] = []
    for match in MENTION_RE.finditer(text):
        start, end = match.span(1)
        out.append(Facet(_byte(text, start), _byte(text, end), "mention", match.group(1)[1:]))
    for match in URL_RE.finditer(text):
        start, end = match.span(1)
        uri = match.group(1)
        while uri and uri[-1] in TRAILING_PUNCT + ")":
            if uri[-1] == ")" and "(" in uri:
                break
            uri, end = uri[:-1], end - 1
        out.append(Facet(_byte(text, start), _byte(text, end), "link", uri))
    for match in TAG_RE.finditer(text):
        if not match.group(2):
            continue
        tag = match.group(2).rstrip(TRAILING_PUNCT)
        if not tag or len(tag) > 64 or not any(ch.isalpha() for ch in tag):  # "#1" is not a tag
            continue
        start = match.start(1)
        end = start + 1 + len(tag)
        out.append(Facet(_byte(text, start), _byte(text, end), "tag", tag))
    return sorted(out, key=lambda f: f.start)


def graphemes(text: str) -> int:
    """Close to grapheme clusters, as the platform check counts them (runbook.checks.platforms)."""
    return sum(1 for ch in text if not (unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e"))


def split_thread(text: str, limit: int = MAX_GRAPHEMES) -> list[str]:
    """One post when it fits; else parts cut at sentence, then word boundaries, each numbered " i/n"
    and within `limit`. Links, mentions and tags are never cut (they fall on word boundaries)."""
    text = text.strip()
    if graphemes(text) <= limit:
        return [text]
    suffix_room = 8  # " 99/99" plus slack
    budget = limit - suffix_room
    sentences = re.split(r"(?<=[.!?])\s+|\n{2,}", text)
    parts: list[str] = []
    current = ""
    for sentence in sentences:
        for word in _pieces(sentence, budget):
            candidate = f"{current} {word}".strip() if current else word
            if graphemes(candidate) <= budget:
                current = candidate
            else:
                parts.append(current)
                current = word
    if current:
        parts.append(current)
    total = len(parts)
    return [f"{part} {n}/{total}" for n, part in enumerate(parts, start=1)]


def _pieces(sentence: str, budget: int) -> list[str]:
    words = sentence.split()
    out: list[str] = []
    for word in words:
        while graphemes(word) > budget:  # a single run longer than a post: cut it hard
            out.append(word[:budget])
            word = word[budget:]
        out.append(word)
    return out


_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_tid_lock = threading.Lock()
_last_tid = 0
_clock_id = random.getrandbits(10)


def new_tid(clock: Callable[[], float] = time.time) -> str:
    """A record key in the atproto TID format: 53 bits of microseconds since the epoch and a 10-bit
    clock id, base32-sortable, 13 characters, strictly increasing within the process."""
    global _last_tid
    with _tid_lock:
        micros = int(clock() * 1_000_000)
        value = (micros << 10) | _clock_id
        if value <= _last_tid:
            value = _last_tid + (1 << 10)
        _last_tid = value
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))
