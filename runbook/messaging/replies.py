"""Drafting personal replies: each from the person's own words, concern, language and platform,
through the language's template, checked like any message (doctrine for replies + pre-publish),
and near-identical drafts flagged for a person to rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runbook.checks.platforms import load_platforms
from runbook.messaging.concerns import cleaned, quote_of
from runbook.messaging.doctrine import MessageChecker, blocking_words
from runbook.messaging.similarity import near_duplicates
from runbook.messaging.templates import Templates


def person_context(row: Any) -> dict[str, Any]:
    """What a reply template knows about the person (a tracking row or anything with its fields)."""
    return {"handle": row.author, "platform": row.platform, "language": row.language, "concern": row.concern,
            "said": cleaned(row.said), "quote": quote_of(row.said), "key": row.person,
            "mentions": len(row.mention_refs or [])}


@dataclass
class Drafted:
    row_id: int
    text: str
    findings: list[dict[str, Any]]

    @property
    def blocked(self) -> bool:
        return any(f["severity"] == "block" for f in self.findings)


class ReplyDrafter:
    def __init__(self, *, templates: Templates, template_for: Mapping[str, str], checker: MessageChecker,
                 base: Mapping[str, Any]):
        self.templates = templates
        self.compiled = {lang: templates.get(name) for lang, name in template_for.items()}
        self.names = dict(template_for)
        self.checker = checker
        self.base = dict(base)

    def render(self, row: Any) -> str:
        language = row.language if row.language in self.compiled else next(iter(self.compiled))
        spec = load_platforms().get(row.platform)
        person = person_context(row)
        if person["quote"] and self._quote_blocks(person["quote"], row, language):
            person["quote"] = ""  # their words would put blame or an excuse in OUR mouth ("hacked?")
        context = {**self.base, "language": language, "person": person,
                   "platform": {"name": row.platform, "max_chars": spec.max_chars if spec else None}}
        text = self.templates.render_template(self.compiled[language], context, name=self.names[language])
        return " ".join(text.split())  # a reply is one paragraph

    def _quote_blocks(self, quote: str, row: Any, language: str) -> bool:
        # Every language's rules: people quote across languages ("hacked" in a Dutch reply).
        return blocking_words(tuple(dict.fromkeys([language, *self.compiled, "en", "nl"]))).search(quote) is not None

    def check(self, row: Any, text: str) -> list[dict[str, Any]]:
        return self.checker.check(text, language=row.language if row.language in self.compiled else "en",
                                  platform=row.platform, account=row.account, target="reply").to_list()

    def draft(self, row: Any) -> Drafted:
        text = self.render(row)
        return Drafted(row_id=row.id, text=text, findings=self.check(row, text))


def flag_near_duplicates(rows: Iterable[Any], *, threshold: float) -> dict[int, dict[str, Any]]:
    """{row id: {"of": other reply id, "score": s}} for drafts (status drafted) too similar to any
    other reply of the step, sent ones included: a copy of an answer already given is one too."""
    rows = list(rows)
    texts = [(r.id, r.text or r.draft or "") for r in rows if (r.text or r.draft)]
    drafting = {r.id for r in rows if r.status == "drafted"}
    found = near_duplicates(texts, threshold=threshold, only=drafting)
    return {row_id: {"of": f"r{m.of}", "score": m.score} for row_id, m in found.items()}
