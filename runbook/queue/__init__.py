"""The brand's post queue: posts in our database, one APScheduler date job per post, publishing
decided by a compare-and-set on the post's status, exact freezes and approved, reconciled thaws.

Only this package imports APScheduler (in `jobs` and `service`, loaded on first use).
"""

from __future__ import annotations

from runbook.queue.fire import fire_post
from runbook.queue.freeze import freeze_now, freeze_of_incident, get_freeze, list_freezes, normalise_scope
from runbook.queue.model import (
    ACTIONS,
    STATUSES,
    FreezeNotFound,
    FreezeResult,
    Post,
    PostNotFound,
    PostRef,
    QueueError,
    ThawItem,
    ThawNotFound,
    ThawPlan,
)
from runbook.queue.posts import (
    NewPost,
    approve_post,
    cancel_post,
    count_by_status,
    get_post,
    list_posts,
    schedule_post,
    schedule_posts,
)
from runbook.queue.thaw import apply_thaw, get_thaw, latest_thaw, parse_actions, propose_thaw

__all__ = [
    "ACTIONS",
    "STATUSES",
    "FreezeNotFound",
    "FreezeResult",
    "NewPost",
    "Post",
    "PostNotFound",
    "PostRef",
    "QueueError",
    "ThawItem",
    "ThawNotFound",
    "ThawPlan",
    "apply_thaw",
    "approve_post",
    "cancel_post",
    "count_by_status",
    "fire_post",
    "freeze_now",
    "freeze_of_incident",
    "get_freeze",
    "get_post",
    "get_thaw",
    "latest_thaw",
    "list_freezes",
    "list_posts",
    "normalise_scope",
    "parse_actions",
    "propose_thaw",
    "schedule_post",
    "schedule_posts",
]
