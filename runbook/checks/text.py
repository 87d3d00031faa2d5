"""Pulling hashtags, mentions, links and words out of a post's text (shared by the matchers)."""

from __future__ import annotations

import re

URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
HASHTAG_RE = re.compile(r"(?<![\w&#/])#(\w+)")
# Anything after an @ up to whitespace; emails are excluded by the look-behind.
MENTION_RE = re.compile(r"(?<![\w@./])@(\S*)")
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
TRAILING_PUNCTUATION = ".,;:!?)]}\"'’”…"


def urls(text: str) -> list[str]:
    return [m.group(0).rstrip(TRAILING_PUNCTUATION) for m in URL_RE.finditer(text)]


def without_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


def hashtags(text: str) -> list[str]:
    return [m.group(1) for m in HASHTAG_RE.finditer(without_urls(text))]


def mentions(text: str) -> list[str]:
    """Raw mention bodies (may be malformed: empty, '@@x', invalid characters)."""
    return [m.group(1).rstrip(TRAILING_PUNCTUATION) for m in MENTION_RE.finditer(without_urls(text))]


def plain_words(text: str) -> list[str]:
    """Words for the spelling check: no links, mentions, hashtags or capitalised names."""
    stripped = MENTION_RE.sub(" ", HASHTAG_RE.sub(" ", without_urls(text)))
    return [w for w in WORD_RE.findall(stripped) if len(w) > 2 and not w[0].isupper()]
