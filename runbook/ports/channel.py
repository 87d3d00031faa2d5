"""The Channel port: how the product talks to a social network (publish, reply, delete, mentions).

Every write carries an idempotency key: a repeated call with the same key returns the first
write's receipt and changes nothing, so a retried task or a restarted scheduler never posts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from runbook.errors import ChannelFailure

__all__ = ["AccountInfo", "Channel", "ChannelError", "Mention", "MentionPage", "Receipt"]

PLATFORMS = ("x", "instagram", "linkedin", "facebook", "mastodon", "bluesky")


class ChannelError(ChannelFailure, RuntimeError):
    """The network refused or failed a call (unknown account, deleted target, outage)."""


@dataclass(frozen=True)
class Receipt:
    ref: str  # the network's id of what was written
    key: str  # the idempotency key it was written under
    created: bool  # False when the key had been used before and nothing new was written
    at: datetime | None = None


@dataclass(frozen=True)
class Mention:
    ref: str
    account: str  # the brand account that was mentioned or replied to
    platform: str
    author: str
    author_followers: int
    text: str
    created_at: datetime
    in_reply_to: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MentionPage:
    items: list[Mention]
    cursor: str | None  # pass back as `since` for the next page; None when nothing was returned


@dataclass(frozen=True)
class AccountInfo:
    handle: str
    platform: str
    kind: str  # "brand" or "personal"
    display_name: str
    followers: int


@runtime_checkable
class Channel(Protocol):
    def publish(self, *, account: str, platform: str, text: str, media: list[dict[str, Any]] | None = None,
                key: str) -> Receipt:
        """Publish a post once per `key`."""
        ...

    def reply(self, *, account: str, platform: str, to_ref: str, text: str, key: str) -> Receipt:
        """Reply to a post or mention once per `key`."""
        ...

    def delete(self, ref: str, *, key: str) -> bool:
        """Delete one of our posts; True if this call deleted it, False if it was already gone."""
        ...

    def mentions(self, account: str, *, platform: str | None = None, since: str | None = None,
                 limit: int = 100) -> MentionPage:
        """Mentions of `account` after the cursor `since`, oldest first."""
        ...

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        """What the network knows about an account, or None."""
        ...

    def find(self, key: str) -> Receipt | None:
        """The receipt of an earlier write under `key`, or None: lets a recovery tell
        whether a publish that crashed midway reached the network."""
        ...
