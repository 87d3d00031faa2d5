"""`draft_statement`: render the statement and one variant per platform from a template, run the
doctrine and pre-publish checks, and show all of it at the "after" sign-off. Called again with the
approvers' decision it applies their edits and checks them again: a blocked edit is not approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from runbook.spec.models import FieldType, InputField, TemplatePath
from runbook.steps.base import Outputs, Params, StepContext, StepKind, StepServices
from runbook.steps.messages import template_context

if TYPE_CHECKING:
    from runbook.messaging.brand import Brand
    from runbook.messaging.doctrine import MessageChecker


class StatementParams(Params):
    template: TemplatePath = Field(description="Statement template under templates/ (statements/*.j2)")
    language: Literal["en", "nl"] = "en"
    platforms: Annotated[list[str], Field(min_length=1)] = ["x", "facebook"]
    accounts: dict[str, str] = Field(default_factory=dict, description="platform -> account (default: brand.yaml)")
    vars: dict[str, Any] = Field(default_factory=dict, description="Extra template variables")

    @field_validator("platforms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from runbook.checks.platforms import platform_names

        unknown = [p for p in value if p not in platform_names()]
        if unknown:
            raise ValueError(f"unknown platform(s) {', '.join(unknown)}; known: {', '.join(platform_names())}")
        return list(dict.fromkeys(value))


class StatementOutputs(Outputs):
    phase: str  # drafted | approved | edit_blocked
    awaiting_review: bool  # True: the engine must (re)open the sign-off on these outputs
    language: str
    template: str
    text: str
    draft_text: str
    draft: dict[str, str]  # platform -> drafted variant (edits apply over it)
    variants: dict[str, dict[str, Any]]  # platform -> {account, text, chars, limit, blocks, warnings}
    findings: dict[str, list[dict[str, Any]]]
    blocked: bool
    blocking: list[str]
    review: str  # the draft, the variants and the findings, as the approvers see them
    review_slack: str  # the same with & < > escaped: people's words must not ping a Slack channel
    digest: str
    approved_by: list[str] = []


def gate_fields(params: StatementParams) -> dict[str, InputField]:
    fields = {
        "text": InputField(
            type=FieldType.text,
            title="The statement (edit to change every platform)",
            description="Leave empty to approve the draft. An edit is checked again.",
        )
    }
    for platform in params.platforms:
        fields[f"text_{platform}"] = InputField(
            type=FieldType.text, title=f"Text for {platform} only", description="Leave empty to keep the variant shown"
        )
    return fields


def run(ctx: StepContext, params: StatementParams) -> StatementOutputs:
    from runbook.messaging.brand import resolve_brand
    from runbook.messaging.doctrine import MessageChecker

    brand = resolve_brand(ctx.services.brand)
    accounts = {p: params.accounts.get(p) or brand.account_for(p) or "brand" for p in params.platforms}
    with MessageChecker(brand, checker=ctx.services.checker) as checker:
        if ctx.decision is None:
            return _draft(ctx, params, brand, checker, accounts)
        return _decide(ctx, params, brand, checker, accounts)


def _draft(
    ctx: StepContext, params: StatementParams, brand: Brand, checker: MessageChecker, accounts: dict[str, str]
) -> StatementOutputs:
    from runbook.messaging.statement import check_variants, render_statement
    from runbook.messaging.templates import Templates

    templates = Templates(ctx.services.templates_dir)
    context = template_context(ctx, brand, language=params.language, extra=params.vars)
    long_form, variants = render_statement(templates, params.template, context, params.platforms)
    findings = check_variants(checker, variants, language=params.language, accounts=accounts)
    out = _outputs("drafted", params, long_form, long_form, variants, variants, findings, accounts)
    ctx.audit(
        "statement.drafted",
        {"text": long_form, "variants": variants, "template": params.template, "language": params.language},
    )
    _audit_checked(ctx, out)
    return out


def _decide(
    ctx: StepContext, params: StatementParams, brand: Brand, checker: MessageChecker, accounts: dict[str, str]
) -> StatementOutputs:
    from runbook.messaging.statement import apply_edits, check_variants

    shown = (ctx.steps.get(ctx.step_id) or {}).get("outputs") or {}
    if not shown.get("draft"):  # the engine did not keep what the approvers saw: draft it again
        shown = _draft(ctx, params, brand, checker, accounts).model_dump()
    draft, draft_text = dict(shown["draft"]), str(shown["draft_text"])
    variants, text, edited = apply_edits(draft, draft_text, ctx.decision or {})
    approvers = _approvers(ctx.decision or {})
    findings = check_variants(checker, variants, language=params.language, accounts=accounts)
    if edited:
        ctx.audit("statement.edited", {"text": text, "variants": variants, "by": approvers})
    phase = "edit_blocked" if any(f["severity"] == "block" for fs in findings.values() for f in fs) else "approved"
    out = _outputs(
        phase,
        params,
        text,
        draft_text,
        draft,
        variants,
        findings,
        accounts,
        approved_by=approvers if phase == "approved" else [],
    )
    _audit_checked(ctx, out)
    if phase == "approved":
        ctx.audit("statement.approved", {"by": approvers, "digest": out.digest, "variants": variants})
    return out


def _approvers(decision: Mapping[str, Any]) -> list[str]:
    found = decision.get("approvers") or ([decision["person"]] if decision.get("person") else [])
    return [str(a) for a in found]


def _outputs(
    phase: str,
    params: StatementParams,
    text: str,
    draft_text: str,
    draft: dict[str, str],
    variants: dict[str, str],
    findings: dict[str, list[dict[str, Any]]],
    accounts: dict[str, str],
    approved_by: list[str] | None = None,
) -> StatementOutputs:
    from runbook.checks.platforms import load_platforms
    from runbook.messaging.statement import blocking, digest, review_text
    from runbook.messaging.templates import slack_escape

    blocks = blocking(findings)
    review = review_text(phase=phase, variants=variants, findings=findings, accounts=accounts)
    return StatementOutputs(
        phase=phase,
        awaiting_review=phase != "approved",
        language=params.language,
        template=params.template,
        text=text,
        draft_text=draft_text,
        draft=draft,
        variants={
            p: {
                "account": accounts[p],
                "text": t,
                "chars": len(t),
                "limit": load_platforms()[p].max_chars,
                "blocks": [f["rule"] for f in findings[p] if f["severity"] == "block"],
                "warnings": [f["rule"] for f in findings[p] if f["severity"] == "warn"],
            }
            for p, t in variants.items()
        },
        findings=findings,
        blocked=bool(blocks),
        blocking=blocks,
        review=review,
        review_slack=slack_escape(review),
        digest=digest(variants),
        approved_by=approved_by or [],
    )


def _audit_checked(ctx: StepContext, out: StatementOutputs) -> None:
    warnings = [f"{p}: {f['rule']}" for p, fs in out.findings.items() for f in fs if f["severity"] == "warn"]
    ctx.audit(
        "statement.checked", {"phase": out.phase, "blocking": out.blocking, "warnings": warnings, "digest": out.digest}
    )


def check_decision(
    params: StatementParams, outputs: Mapping[str, Any], fields: Mapping[str, Any], services: StepServices
) -> list[str]:
    """For the engine, before it counts an approval at this step's gate: the blocking findings of
    the text the approver would approve (their edits over what they were shown); [] when it may."""
    from runbook.messaging.brand import resolve_brand
    from runbook.messaging.doctrine import MessageChecker
    from runbook.messaging.statement import apply_edits, blocking, check_variants

    brand = resolve_brand(services.brand)
    accounts = {p: params.accounts.get(p) or brand.account_for(p) or "brand" for p in params.platforms}
    variants, _, _ = apply_edits(outputs["draft"], str(outputs["draft_text"]), fields)
    with MessageChecker(brand, checker=services.checker) as checker:
        return blocking(check_variants(checker, variants, language=params.language, accounts=accounts))


KIND = StepKind.of(
    "draft_statement",
    run,
    signoff_at="after",
    gate_fields=gate_fields,
    rerun_after_signoff=True,
    check_decision=check_decision,
    description="Draft the statement and its platform variants from a template, checked against the "
    "doctrine; approvers may edit it (checked again)",
)
