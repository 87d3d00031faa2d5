"""The RemoteQueue port: a publishing queue the brand keeps outside our database (a Page's
scheduled posts, a third-party scheduler). The freeze lists it, takes posts off it and the thaw
puts them back; every call is idempotent so a freeze or thaw interrupted midway can be redone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["HoldOutcome", "RemotePost", "RemoteQueue", "RemoteQueueError"]

# held: this call took it off the schedule before its time. absent: it was no longer there
# (taken off by an earlier attempt of ours, or removed by a person): we hold the full copy either
# way. published: the remote scheduler had already sent it: it is out and cannot be held.
# uncertain: taken off at or after its time, racing the remote scheduler: it may be out.
HoldOutcome = Literal["held", "absent", "published", "uncertain"]


class RemoteQueueError(RuntimeError):
    """The remote queue refused or failed a call (after the resilience layer's retries)."""


@dataclass(frozen=True)
class RemotePost:
    """A scheduled post as the remote queue has it: everything needed to put it back."""

    remote_id: str  # the remote queue's id of the scheduled post
    target: str  # where it goes: the scheduler's profile id, the Page id
    account: str  # the brand account handle it publishes as
    platform: str
    text: str
    run_at: datetime  # when the remote queue will publish it (UTC)
    media: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # the remote object as listed, kept verbatim


@runtime_checkable
class RemoteQueue(Protocol):
    name: str  # the configured queue id ("buffer-main", "meta-page-acme"): stable across runs

    @property
    def accounts(self) -> tuple[str, ...]:
        """Brand accounts it publishes for (what a freeze scope matches); read-only, so an adapter
        may hold a narrower tuple type (one account)."""
        ...

    def scheduled(self) -> list[RemotePost]:
        """Every post the queue will still publish, soonest first."""
        ...

    def hold(self, post: RemotePost) -> HoldOutcome:
        """Take the post off the schedule. Idempotent: a second call answers "absent"."""
        ...

    def restore(self, post: RemotePost, *, run_at: datetime | None, key: str) -> tuple[str, datetime]:
        """Schedule the post again at `run_at` (None: publish now); returns (new remote id, time).
        Idempotent per `key` where the API has idempotency keys; where it has none, callers
        redoing an interrupted restore ask `find_restored` first."""
        ...

    def find_restored(self, post: RemotePost, *, run_at: datetime | None) -> tuple[str, datetime] | None:
        """The post as an earlier `restore` put it back (same target, text and time), or None."""
        ...
