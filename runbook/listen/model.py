"""What a mention is on its way in (`NewMention`) and once stored and scored (`StoredMention`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["KINDS", "NewMention", "StoredMention"]

KINDS = ("mention", "reply", "repost", "quote")


@dataclass(frozen=True)
class NewMention:
    """A mention as fetched from a channel or read from an export, before scoring."""

    platform: str
    ref: str  # the network's id of the post: with `platform`, the deduplication key
    account: str  # the brand account it mentions or answers
    author: str
    text: str
    created_at: datetime
    author_followers: int = 0
    in_reply_to: str | None = None
    url: str | None = None
    kind: str | None = None  # derived from in_reply_to when None
    engagement: int = 0
    language: str | None = None  # detected when None
    sentiment: float | None = None  # scored when None (an export may carry its own score)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredMention:
    """One stored mention: what `mentions_in_window` returns (a stable contract, see docs/listening.md)."""

    id: int
    platform: str
    ref: str
    account: str
    author: str
    author_followers: int
    text: str
    language: str
    sentiment: float
    negative: bool
    created_at: datetime
    in_reply_to: str | None
    url: str | None
    kind: str
    engagement: int
    source: str
    meta: dict[str, Any]
    label: str = "neutral"  # the complaint model's class: negative | neutral | positive
    needs_answer: bool = False  # a complaint, a question to the brand or a call for help

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat()
        return out
