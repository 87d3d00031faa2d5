"""Drafting personal replies: each from the person's own words, concern, language and platform,
through the language's template, checked like any message (doctrine for replies + pre-publish),
and near-identical drafts flagged for a person to rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runbook.checks.platforms import load_platforms
from runbook.messaging.concerns import cleaned, quote_of
from runbook.messaging.doctrine import MessageChecker, blocking_words
from runbook.messaging.similarity import near_duplicates
from runbook.messaging.templates import Templates


def person_context(row: Any) -> dict[str, Any]:
    """What a reply template knows about the person (a tracking row or anything with its fields):
    their words, their tone (`concern`), and their concern groups (`group`, `groups`, `topic`),
    each with the complaint sentence to address (`quote`)."""
    flags = getattr(row, "flags", None) or {}
    group = flags.get("group") or {}
    groups = flags.get("groups") or ([group] if group else [])
    terms = tuple(group.get("terms") or ())
    quote = group.get("quote") or quote_of(row.said, language=row.language, terms=terms)
    return {
        "handle": row.author,
        "platform": row.platform,
        "language": row.language,
        "concern": row.concern,
        "said": cleaned(row.said),
        "quote": quote,
        "key": row.person,
        "mentions": len(row.mention_refs or []),
        "topic": group.get("topic", "general"),
        "group": group.get("label", ""),
        "groups": [
            {"topic": g.get("topic", "general"), "label": g.get("label", ""), "quote": g.get("quote", "")}
            for g in groups
        ],
    }


@dataclass
class Drafted:
    row_id: int
    text: str
    findings: list[dict[str, Any]]

    @property
    def blocked(self) -> bool:
        return any(f["severity"] == "block" for f in self.findings)


class ReplyDrafter:
    def __init__(
        self,
        *,
        templates: Templates,
        template_for: Mapping[str, str],
        checker: MessageChecker,
        base: Mapping[str, Any],
        by_topic: Mapping[str, Mapping[str, str]] | None = None,
    ):
        self.templates = templates
        self.compiled = {lang: templates.get(name) for lang, name in template_for.items()}
        self.names = dict(template_for)
        # A template per concern topic (and language), beside the incident type's default.
        self.by_topic = {
            (topic, lang): (name, templates.get(name))
            for topic, names in (by_topic or {}).items()
            for lang, name in names.items()
        }
        self.checker = checker
        self.base = dict(base)

    def render(self, row: Any) -> str:
        language = row.language if row.language in self.compiled else next(iter(self.compiled))
        spec = load_platforms().get(row.platform)
        person = person_context(row)
        if person["quote"] and self._quote_blocks(person["quote"], row, language):
            person["quote"] = ""  # their words would put blame or an excuse in OUR mouth ("hacked?")
        context = {
            **self.base,
            "language": language,
            "person": person,
            "platform": {"name": row.platform, "max_chars": spec.max_chars if spec else None},
        }
        compiled, name = self.compiled[language], self.names[language]
        if (person["topic"], language) in self.by_topic:
            name, compiled = self.by_topic[(person["topic"], language)]
        text = self.templates.render_template(compiled, context, name=name)
        return " ".join(text.split())  # a reply is one paragraph

    def _quote_blocks(self, quote: str, row: Any, language: str) -> bool:
        # Every language's rules: people quote across languages ("hacked" in a Dutch reply).
        return blocking_words(tuple(dict.fromkeys([language, *self.compiled, "en", "nl"]))).search(quote) is not None

    def check(self, row: Any, text: str) -> list[dict[str, Any]]:
        return self.checker.check(
            text,
            language=row.language if row.language in self.compiled else "en",
            platform=row.platform,
            account=row.account,
            target="reply",
        ).to_list()

    def draft(self, row: Any) -> Drafted:
        text = self.render(row)
        return Drafted(row_id=row.id, text=text, findings=self.check(row, text))


_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|„[^“”]*[“”]|‘[^’]*’|«[^»]*»')


def brand_words(text: str, row: Any) -> str:
    """The brand's own words of a reply: without quotes, the person's handle and name, and any
    phrase of theirs echoed verbatim. Echoing each person's words must not hide a fixed text."""
    out = _QUOTED.sub(" ", text)
    out = re.sub(r"(?<![\w.])@\w+", " ", out)
    author = (getattr(row, "author", "") or "").lstrip("@")
    if author:
        out = re.sub(re.escape(author), " ", out, flags=re.IGNORECASE)
    said = cleaned(getattr(row, "said", "") or "")
    for sentence in re.split(r"(?<=[.!?])\s+", said):
        sentence = sentence.strip(" .!?")
        if len(sentence.split()) >= 3:
            out = out.replace(sentence, " ")
    return " ".join(out.split())


def flag_near_duplicates(rows: Iterable[Any], *, threshold: float) -> dict[int, dict[str, Any]]:
    """{row id: {"of": other reply id, "score": s}} for drafts (status drafted) too similar to any
    other reply of the step, sent ones included: a copy of an answer already given is one too.
    Only the brand's own words are compared (`brand_words`)."""
    rows = list(rows)
    texts = [(r.id, brand_words(r.text or r.draft or "", r)) for r in rows if (r.text or r.draft)]
    drafting = {r.id for r in rows if r.status == "drafted"}
    found = near_duplicates(texts, threshold=threshold, only=drafting)
    return {row_id: {"of": f"r{m.of}", "score": m.score} for row_id, m in found.items()}
