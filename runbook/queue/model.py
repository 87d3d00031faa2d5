"""Post queue data: post statuses, `Post`, freeze and thaw results, and the queue's errors.

Exception tree:
    QueueError (ValueError)
    ├── PostNotFound
    ├── FreezeNotFound
    └── ThawNotFound
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from runbook.checks import Draft, media_refs
from runbook.errors import NotFound, RunbookError

SCHEDULED, NEEDS_REVIEW, FROZEN, PUBLISHING = "scheduled", "needs_review", "frozen", "publishing"
PUBLISHED, KILLED, FAILED = "published", "killed", "failed"
STATUSES = (SCHEDULED, NEEDS_REVIEW, FROZEN, PUBLISHING, PUBLISHED, KILLED, FAILED)
ALL = "all"

Action = Literal["release", "reschedule", "kill"]
ACTIONS: tuple[str, ...] = ("release", "reschedule", "kill")


class QueueError(RunbookError, ValueError):
    pass


class PostNotFound(QueueError, NotFound):
    def __init__(self, post_id: str):
        super().__init__(f"no post {post_id!r}")


class FreezeNotFound(QueueError, NotFound):
    def __init__(self, ref: str):
        super().__init__(f"no freeze {ref!r}")


class ThawNotFound(QueueError, NotFound):
    def __init__(self, ref: str):
        super().__init__(f"no thaw {ref!r}")


@dataclass(frozen=True)
class Post:
    id: str
    account: str
    platform: str
    text: str
    media: list[dict[str, Any]]
    language: str
    author: str
    run_at: datetime
    status: str
    freeze_id: str | None
    findings: list[dict[str, Any]]
    reviewed_by: str | None
    reviewed_rules: list[str] | None
    ref: str | None
    error: str | None
    source: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    publishing_at: datetime | None
    published_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Post:
        return cls(**row._mapping)

    @property
    def key(self) -> str:
        """Idempotency key of this post's publish on the channel."""
        return f"post:{self.id}"

    def draft(self) -> Draft:
        """The post as the checks see it: what fires and what thaws check alike."""
        # Field by field: a Draft takes media as refs and none of the queue's own columns.
        return Draft(
            account=self.account,
            platform=self.platform,
            text=self.text,
            media=media_refs(self.media),
            author=self.author,
            language=self.language,
        )

    def label(self, width: int = 50) -> str:
        """How a post is named to people: id, account, platform and the start of its text."""
        text = self.text.replace("\n", " ")
        short = text if len(text) <= width else text[: width - 1] + "…"
        return f'{self.id} ({self.account} on {self.platform}: "{short}")'

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for name in ("run_at", "created_at", "updated_at", "publishing_at", "published_at"):
            data[name] = data[name].isoformat() if data[name] is not None else None
        return data


@dataclass(frozen=True)
class PostRef:
    """A post named in a result: id plus what a person recognises it by."""

    id: str
    account: str
    platform: str
    text: str

    @property
    def label(self) -> str:
        text = self.text.replace("\n", " ")
        return f'{self.id} ({self.account} on {self.platform}: "{text[:49] + "…" if len(text) > 50 else text}")'

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "account": self.account, "platform": self.platform, "text": self.text}


@dataclass(frozen=True)
class FreezeResult:
    id: str
    incident_id: str | None
    scope: list[str]
    post_ids: list[str]  # exactly the posts this freeze moved from scheduled to frozen
    publishing: list[PostRef]  # in scope but already publishing when the freeze committed
    actor: str
    channel: str
    reason: str
    created_at: datetime
    status: str
    created: bool  # False: an earlier freeze of the same incident was returned
    commit_ms: float | None = None  # from the call to the commit that made it hold
    held_elsewhere: dict[str, int] = field(default_factory=dict)  # in scope, held by another active freeze

    @property
    def frozen(self) -> int:
        return len(self.post_ids)

    def summary(self) -> str:
        head = f"freeze {self.id}: {self.frozen} post(s) frozen in scope {', '.join(self.scope)}" + (
            "" if self.created else " (existing freeze of this incident)"
        )
        if self.held_elsewhere:
            head += (
                "\nalready held by another active freeze (they join this one if that one thaws first): "
                + ", ".join(f"{n} by {fid}" for fid, n in sorted(self.held_elsewhere.items()))
            )
        elif self.frozen == 0 and self.status == "active":
            head += " (nothing was scheduled; posts scheduled in scope from now on join this freeze)"
        if not self.publishing:
            return head
        names = "; ".join(p.label for p in self.publishing)
        return f"{head}\nalready publishing when the freeze committed ({len(self.publishing)}): {names}"

    # Field by field, as ThawPlan's: times as ISO text and the publishing posts nested.
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "scope": self.scope,
            "post_ids": self.post_ids,
            "frozen": self.frozen,
            "publishing": [p.to_dict() for p in self.publishing],
            "actor": self.actor,
            "channel": self.channel,
            "reason": self.reason,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "created": self.created,
            "commit_ms": self.commit_ms,
            "held_elsewhere": self.held_elsewhere,
        }


@dataclass(frozen=True)
class ThawItem:
    post: PostRef
    run_at: datetime  # the post's time when it was frozen
    proposed: str
    reason: str
    findings: list[dict[str, Any]]
    proposed_run_at: datetime | None  # for reschedule
    action: str | None = None  # what the approver decided (after apply)
    new_run_at: datetime | None = None
    outcome: str | None = None  # released | rescheduled | killed | held_for_review | held_by_freeze:<id>

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.post.to_dict(),
            "run_at": self.run_at.isoformat(),
            "proposed": self.proposed,
            "reason": self.reason,
            "findings": self.findings,
            "proposed_run_at": self.proposed_run_at.isoformat() if self.proposed_run_at else None,
            "action": self.action,
            "new_run_at": self.new_run_at.isoformat() if self.new_run_at else None,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class ThawPlan:
    id: str
    freeze_id: str
    incident_id: str | None
    status: str  # proposed | applied | superseded
    proposed_by: str
    proposed_at: datetime
    items: list[ThawItem]
    approved_by: str | None = None
    applied_at: datetime | None = None
    remaining: list[str] = field(default_factory=list)  # frozen posts the plan did not cover (joined later)

    def counts(self, attr: str = "proposed") -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            value = getattr(item, attr) or "-"
            out[value] = out.get(value, 0) + 1
        return out

    def actions_text(self) -> str:
        """The proposal as editable `POST_ID=action` lines (the approver's form field)."""
        return "\n".join(f"{i.post.id}={i.proposed}" for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "freeze_id": self.freeze_id,
            "incident_id": self.incident_id,
            "status": self.status,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(),
            "approved_by": self.approved_by,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "items": [i.to_dict() for i in self.items],
            "remaining": self.remaining,
        }
