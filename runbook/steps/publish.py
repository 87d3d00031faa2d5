"""`publish`: publish the approved statement's variants, once each (idempotency key per platform
and account), record their ids and URLs, and record that the statement passed through the freeze:
it is the one exception to the silence. It publishes nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from runbook.errors import NotAuthorised
from runbook.steps.base import Outputs, Params, StepContext, StepKind

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.ports.channel import Channel


class PublishParams(Params):
    statement: str = Field("statement", description="The draft_statement step whose approved text to publish")
    # A statement for zero platforms is refused when the playbook is checked, not when it runs.
    platforms: list[str] | None = Field(None, min_length=1, description="Only these platforms (default: every variant)")


class PublishOutputs(Outputs):
    posts: list[dict[str, Any]]  # platform, account, ref, url, key, created, freeze
    urls: list[str]
    url: str  # the first one, for replies to point at
    approved_by: list[str]
    digest: str
    through_freeze: list[str]  # freeze ids the statement passed through


class NotApproved(NotAuthorised, RuntimeError):
    pass


def run(ctx: StepContext, params: PublishParams) -> PublishOutputs:
    from runbook.messaging.brand import resolve_brand
    from runbook.messaging.doctrine import MessageChecker
    from runbook.messaging.errors import StatementBlocked
    from runbook.messaging.statement import blocking, check_variants, digest, final_variants

    engine = ctx.services.db
    entry = ctx.steps.get(params.statement) or {}
    outputs = entry.get("outputs") or {}
    if not outputs.get("variants"):
        raise NotApproved(f"step '{params.statement}' has no drafted statement to publish")
    approvers = list(outputs.get("approved_by") or []) or _granted(engine, ctx, params.statement)
    if not approvers:
        raise NotApproved(f"the statement of step '{params.statement}' has no granted sign-off: nothing is published")
    variants = final_variants(outputs)
    if params.platforms is not None:
        drafted = sorted(variants)
        variants = {p: t for p, t in variants.items() if p in params.platforms}
        if not variants:  # publishing nothing must not look like a published statement
            raise NotApproved(
                f"no drafted variant for {', '.join(params.platforms)} (drafted: "
                f"{', '.join(drafted) or 'none'}): nothing published"
            )
    accounts = {p: (outputs["variants"].get(p) or {}).get("account") or "brand" for p in variants}
    brand = resolve_brand(ctx.services.brand)
    language = str(outputs.get("language") or "en")
    # Checked once more right before it goes out: an edit merged after the sign-off, or a policy
    # change since, must not publish a blocked text.
    with MessageChecker(brand, checker=ctx.services.checker) as checker:
        blocks = blocking(check_variants(checker, variants, language=language, accounts=accounts))
    if blocks:
        ctx.audit("statement.refused", {"blocking": blocks, "digest": digest(variants)})
        raise StatementBlocked(f"the statement is blocked, nothing published: {', '.join(blocks)}", findings=[])
    channel = ctx.services.channel
    posts = [
        _publish_one(ctx, engine, channel, platform, accounts[platform], text, approvers, params.statement)
        for platform, text in variants.items()
    ]
    urls = [p["url"] for p in posts]
    return PublishOutputs(
        posts=posts,
        urls=urls,
        url=urls[0] if urls else "",
        approved_by=approvers,
        digest=digest(variants),
        through_freeze=sorted({p["freeze"] for p in posts if p["freeze"]}),
    )


def _granted(engine: Engine, ctx: StepContext, step_id: str) -> list[str]:
    from runbook.messaging.publication import approvals

    return approvals(engine, ctx.incident_id, step_id)


def _publish_one(
    ctx: StepContext,
    engine: Engine,
    channel: Channel,
    platform: str,
    account: str,
    text: str,
    approvers: list[str],
    statement_step: str,
) -> dict[str, Any]:
    from runbook.messaging.publication import active_freeze, published_before, record_exception, url_of

    key = ctx.key(f"{platform}:{account}")
    freeze = active_freeze(engine, account)
    receipt = channel.publish(account=account, platform=platform, text=text, key=key)
    url = url_of(channel, platform=platform, account=account, ref=receipt.ref)
    post = {
        "platform": platform,
        "account": account,
        "ref": receipt.ref,
        "url": url,
        "key": key,
        "created": receipt.created,
        "freeze": freeze["id"] if freeze else None,
    }
    # A retried task finds its receipt under the same key and its events already written.
    if not published_before(engine, ctx.incident_id, key):
        details = {**post, "approved_by": approvers, "statement_step": statement_step, "chars": len(text)}
        if freeze is not None:
            record_exception(
                engine,
                freeze,
                incident_id=ctx.incident_id,
                step_id=ctx.step_id,
                details={
                    k: details[k] for k in ("platform", "account", "ref", "url", "key", "approved_by", "statement_step")
                },
                audit=ctx.audit,
            )
        ctx.audit("statement.published", details)
    return post


KIND = StepKind.of(
    "publish",
    run,
    side_effects=True,
    description="Publish the approved statement on each platform, once; the one post allowed through the freeze",
)
