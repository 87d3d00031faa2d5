"""Spelling against pyspellchecker's word-frequency dictionaries (English and Dutch ship with it)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from runbook.checks.text import plain_words


@lru_cache(maxsize=8)
def dictionary(language: str) -> Any:
    # Imported lazily: loading a dictionary takes ~0.2 s, and most commands never spell-check.
    from spellchecker import SpellChecker

    return SpellChecker(language=language, distance=1)


def unknown_words(text: str, language: str, ignore: Iterable[str] = ()) -> list[str]:
    """Words of `text` the dictionary does not know, in order of appearance, once each."""
    words = [w.lower().replace("’", "'") for w in plain_words(text)]
    if not words:
        return []
    skip = {w.lower() for w in ignore}
    unknown = dictionary(language).unknown([w for w in words if w not in skip])
    seen: list[str] = []
    for word in words:
        if word in unknown and word not in seen:
            seen.append(word)
    return seen
