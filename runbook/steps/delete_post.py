"""`delete_post`: delete the offending post through the channel, once (idempotency key per incident,
step and post), and record it. Deleting stops the spread on that platform; screenshots survive."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from runbook.steps.base import Outputs, Params, StepContext, StepKind

WARNING = "Deleting stops it spreading on the platform, but screenshots survive: the statement must still own it."


class DeleteParams(Params):
    post: Annotated[str, Field(min_length=1, max_length=2000, description="Link or ref of the post to delete")]
    reason: Annotated[str, Field(max_length=2000)] = ""


class DeleteOutputs(Outputs):
    ref: str
    deleted: bool  # this step deleted it
    already_gone: bool  # it was deleted before (by this step earlier, or by hand)
    warning: str


def _deleted_by(channel: object, ref: str, key: str) -> bool:
    """True when an earlier attempt of this very step deleted it (a retry after a crash)."""
    lister = getattr(channel, "posts", None)
    if not callable(lister):
        return False
    return any(p.get("ref") == ref and p.get("delete_key") == key for p in lister())


def run(ctx: StepContext, params: DeleteParams) -> DeleteOutputs:
    from runbook.listen.refs import post_ref

    ref = post_ref(params.post)
    if not ref:
        raise ValueError("no post to delete")
    channel = ctx.services.channel
    key = ctx.key(ref)
    deleted = channel.delete(ref, key=key) or _deleted_by(channel, ref, key)
    ctx.audit(
        "post.deleted" if deleted else "post.already_deleted",
        {"ref": ref, "post": params.post, "reason": params.reason, "channel": getattr(channel, "name", None)},
    )
    if ctx.chat is not None:
        text = f"Deleted post {ref}. {WARNING}" if deleted else f"Post {ref} was already deleted. {WARNING}"
        ctx.chat.post(ctx.channel, text, key=ctx.key(f"deleted:{ref}"))
    return DeleteOutputs(ref=ref, deleted=deleted, already_gone=not deleted, warning=WARNING)


KIND = StepKind.of(
    "delete_post",
    run,
    side_effects=True,
    description="Delete the offending post through the channel, once, and record it",
)
