"""The Channel port: how the product talks to a social network (publish, reply, delete, mentions).

Every write carries an idempotency key: a repeated call with the same key returns the first
write's receipt and changes nothing, so a retried task or a restarted scheduler never posts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from runbook.errors import ChannelFailure

__all__ = [
    "AccountInfo",
    "Channel",
    "ChannelError",
    "ChannelReads",
    "ChannelUnavailable",
    "Limits",
    "Mention",
    "MentionPage",
    "Post",
    "Receipt",
    "RejectedByLimits",
]

PLATFORMS = ("x", "instagram", "linkedin", "facebook", "mastodon", "bluesky")


class ChannelError(ChannelFailure, RuntimeError):
    """The network refused or failed a call (unknown account, deleted target, outage)."""


class ChannelUnavailable(ChannelError):
    """The channel is dead for now (circuit open, retries spent, timeouts): report it to the
    incident and move on rather than hang a step. `retry_after` is when it may be tried again."""

    def __init__(self, message: str, *, channel: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.retry_after = retry_after


class RejectedByLimits(ChannelError):
    """A write that breaks the platform's limits, refused before anything was sent."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


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


@dataclass(frozen=True)
class Post:
    """One post as the network shows it now (ours or anyone's)."""

    ref: str
    account: str
    platform: str
    text: str
    created_at: datetime | None
    live: bool  # False once deleted (or hidden by the network)
    url: str | None = None
    in_reply_to: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # likes, reposts, replies, quotes, visibility...

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "account": self.account,
            "platform": self.platform,
            "text": self.text,
            "created_at": self.created_at,
            "live": self.live,
            "url": self.url,
            "in_reply_to": self.in_reply_to,
            "meta": dict(self.meta),
        }


@dataclass(frozen=True)
class Limits:
    """What one post may hold on a platform, as the network (or its documentation) says."""

    platform: str
    max_chars: int
    max_media: int
    count: str = "chars"  # "chars" or "graphemes" (Bluesky)
    url_length: int | None = None  # every link counts as this many characters (X, Mastodon)
    threads: bool = False  # a longer text may go out as a thread of posts
    media_types: tuple[str, ...] = ()
    source: str = "documented"  # or "instance" when read from the server


@runtime_checkable
class ChannelReads(Protocol):
    """What real adapters (and the sandbox) add to the Channel port: reads of live state and the
    platform's limits, so a step can check before it sends and confirm after."""

    def get_post(self, ref: str) -> dict[str, Any] | None:
        """A post and its live state (`Post.to_dict()`), or None when the network never had it."""
        ...

    def recent_posts(self, account: str, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        """The account's own most recent posts, newest first."""
        ...

    def limits(self, account: str, *, platform: str | None = None) -> Limits:
        """The platform's limits for this account."""
        ...


@runtime_checkable
class Channel(Protocol):
    def publish(
        self, *, account: str, platform: str, text: str, media: list[dict[str, Any]] | None = None, key: str
    ) -> Receipt:
        """Publish a post once per `key`."""
        ...

    def reply(self, *, account: str, platform: str, to_ref: str, text: str, key: str) -> Receipt:
        """Reply to a post or mention once per `key`."""
        ...

    def delete(self, ref: str, *, key: str) -> bool:
        """Delete one of our posts; True if this call deleted it, False if it was already gone."""
        ...

    def mentions(
        self, account: str, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        """Mentions of `account` after the cursor `since`, oldest first."""
        ...

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        """What the network knows about an account, or None."""
        ...

    def find(self, key: str) -> Receipt | None:
        """The receipt of an earlier write under `key`, or None: lets a recovery tell
        whether a publish that crashed midway reached the network."""
        ...
