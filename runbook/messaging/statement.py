"""A statement and its platform variants ("a Facebook post is not a tweet"): rendered from one
template per platform, each checked (doctrine + pre-publish), approvers' edits applied over the
draft, and the text to publish per platform resolved the same way by every caller.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from runbook.checks.platforms import load_platforms
from runbook.messaging.doctrine import MessageChecker
from runbook.messaging.templates import Templates

SHORT_BELOW = 1000  # platforms allowing fewer characters get the template's short form


def platform_context(platform: str | None) -> dict[str, Any]:
    if platform is None:
        return {"name": "statement", "max_chars": None, "short": False}
    spec = load_platforms()[platform]
    return {"name": platform, "max_chars": spec.max_chars, "short": spec.max_chars < SHORT_BELOW}


def render_statement(
    templates: Templates, name: str, context: Mapping[str, Any], platforms: list[str]
) -> tuple[str, dict[str, str]]:
    """(long form, {platform: variant})."""
    long_form = templates.render(name, {**context, "platform": platform_context(None)})
    variants = {p: templates.render(name, {**context, "platform": platform_context(p)}) for p in platforms}
    return long_form, variants


def check_variants(
    checker: MessageChecker, variants: Mapping[str, str], *, language: str, accounts: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    return {
        p: checker.check(text, language=language, platform=p, account=accounts.get(p), target="statement").to_list()
        for p, text in variants.items()
    }


def apply_edits(
    draft: Mapping[str, str], draft_text: str, fields: Mapping[str, Any]
) -> tuple[dict[str, str], str, bool]:
    """An approver's edits over the draft: `text_<platform>` changes one platform; `text`, when it
    differs from the draft, changes every platform without its own edit."""
    main = str(fields.get("text") or "").strip()
    main_changed = bool(main) and main != draft_text.strip()
    out: dict[str, str] = {}
    for platform, drafted in draft.items():
        own = str(fields.get(f"text_{platform}") or "").strip()
        out[platform] = own if own else (main if main_changed else drafted)
    edited = main_changed or any(out[p] != draft[p] for p in draft)
    return out, (main if main_changed else draft_text), edited


def final_variants(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The text to publish per platform, from a statement step's outputs: the approved variants
    when the kind applied the sign-off itself; else the draft with the approvers' fields that the
    engine merged into the outputs."""
    if outputs.get("phase") == "approved":
        return {p: v["text"] for p, v in (outputs.get("variants") or {}).items()}
    draft = outputs.get("draft") or {p: v["text"] for p, v in (outputs.get("variants") or {}).items()}
    variants, _, _ = apply_edits(draft, str(outputs.get("draft_text") or ""), outputs)
    return variants


def digest(variants: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(variants.items())), ensure_ascii=False).encode()).hexdigest()


def blocking(findings: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    found = [f"{p}: {f['rule']}" for p, fs in findings.items() for f in fs if f["severity"] == "block"]
    return list(dict.fromkeys(found))  # one entry per platform and rule, however often it matched


def review_text(
    *,
    phase: str,
    variants: Mapping[str, str],
    findings: Mapping[str, list[dict[str, Any]]],
    accounts: Mapping[str, str],
) -> str:
    """What the approvers read at the sign-off: each variant, its length, its findings."""
    lines = [
        "The statement was edited and a check BLOCKS it: fix it below or leave the fields empty to approve the draft."
        if phase == "edit_blocked"
        else "Approve the statement below, or edit it (field `text` for every platform, `text_<platform>` for one)."
    ]
    for platform, text in variants.items():
        limit = load_platforms()[platform].max_chars
        lines += ["", f"--- {platform} ({accounts.get(platform) or '?'}), {len(text)}/{limit} characters ---", text]
        for f in findings.get(platform, []):
            lines.append(f"  {f['severity'].upper()} {f['rule']}: {f['message']}")
    return "\n".join(lines)
