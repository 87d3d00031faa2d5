"""Doctrine checks for statements and personal replies: the doctrine packs
(`runbook/checks/rules/doctrine-<lang>.yaml`, same format as the pre-publish packs) run next to
every pre-publish check, through one `MessageChecker`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from runbook.checks import Checker, CheckResult, Draft, Finding
from runbook.checks.matchers import BUILTINS, Hit, Subject, compile_words
from runbook.checks.packs import RULES_DIR, Pack, PackError, load_pack
from runbook.checks.platforms import load_platforms
from runbook.messaging.brand import Brand, BrandProfile
from runbook.messaging.readability import measure, sentence_lengths

Target = Literal["statement", "reply"]
# Pre-publish rules that ask for "a second opinion before the brand posts about it": a statement
# or reply is only ever published after a named sign-off, which is that second opinion; they warn.
SECOND_OPINION_FAMILIES = frozenset({"sensitive_topic"})


@dataclass
class MessageSubject(Subject):
    brand: BrandProfile | None = None
    target: Target = "statement"


def affected_people(s: Subject, options: dict[str, Any]) -> Iterator[Hit]:
    brand = getattr(s, "brand", None)
    words = list(options.get("words", [])) + list(brand.audience if brand else [])
    if words and not _words_re(tuple(words)).search(s.draft.text):
        yield "", ""


def brand_values(s: Subject, options: dict[str, Any]) -> Iterator[Hit]:
    brand = getattr(s, "brand", None)
    configured = brand.value_words() if brand else []
    words = configured or list(options.get("fallback", []))
    if words and not _words_re(tuple(words)).search(s.draft.text):
        named = ", ".join(v.name for v in brand.values) if brand and brand.values else "none configured in brand.yaml"
        yield "", named


def _measured(s: Subject) -> Any:
    if "readability" not in s._cache:
        s._cache["readability"] = measure(s.draft.text, s.language, long_sentence=10_000)
    return s._cache["readability"]


def readability(s: Subject, options: dict[str, Any]) -> Iterator[Hit]:
    minimum = float(options.get("min_score", 50))
    found = _measured(s)
    if found.words >= 12 and found.score < minimum:  # too short a text gives a meaningless score
        yield f"{found.score:g}", f"{minimum:g}"


def long_sentences(s: Subject, options: dict[str, Any]) -> Iterator[Hit]:
    limit = int(options.get("max_words", 25))
    for count in sentence_lengths(s.draft.text):
        if count > limit:
            yield str(count), str(limit)


DOCTRINE_CHECKS: dict[str, Callable[[Subject, dict[str, Any]], Iterator[Hit]]] = {
    "affected_people": affected_people,
    "brand_values": brand_values,
    "long_sentences": long_sentences,
    "readability": readability,
}


# The pack loader accepts `check:` names found in BUILTINS; registering ours there lets the
# doctrine packs use the same model and loader as the pre-publish ones.
def _without_options(check: Callable[[Subject, dict[str, Any]], Iterator[Hit]]) -> Callable[[Subject], Iterator[Hit]]:
    def run(s: Subject) -> Iterator[Hit]:
        return check(s, {})

    return run


for _name, _check in DOCTRINE_CHECKS.items():
    BUILTINS.setdefault(_name, _without_options(_check))


@lru_cache(maxsize=256)
def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    return compile_words(list(words))


@lru_cache(maxsize=16)
def doctrine_pack(language: str) -> Pack:
    path = RULES_DIR / f"doctrine-{language}.yaml"
    if not path.is_file():
        known = sorted(p.stem.removeprefix("doctrine-") for p in RULES_DIR.glob("doctrine-*.yaml"))
        raise PackError([f"no doctrine pack for language {language!r} (have: {', '.join(known)})"])
    return load_pack(path)


@lru_cache(maxsize=16)
def blocking_words(languages: tuple[str, ...], target: Target = "reply") -> re.Pattern[str]:
    """One pattern for every rule that blocks when its words appear, across `languages`: a quick
    test of a phrase we might quote (someone else's "were you hacked?")."""
    sources = []
    for language in languages:
        for compiled in doctrine_pack(language).rules:
            options = compiled.rule.options or {}
            severity = (
                options.get("reply_severity", compiled.rule.severity) if target == "reply" else compiled.rule.severity
            )
            if (
                compiled.regex is not None
                and severity == "block"
                and not options.get("require")
                and target in options.get("targets", ("statement", "reply"))
            ):
                sources.append(f"(?:{compiled.regex.pattern})")
    return re.compile("|".join(sources) or r"(?!)", re.IGNORECASE)


class MessageChecker:
    """Doctrine rules plus every pre-publish rule, for a statement variant or a personal reply."""

    def __init__(self, brand: Brand | None = None, *, checker: Checker | None = None, links: bool | None = None):
        from runbook.checks import Policy

        self.brand = brand or Brand(profile=BrandProfile(), policy=Policy())
        self._own = checker is None
        self.checker = checker or Checker(self.brand.policy, links=links)

    def close(self) -> None:
        if self._own:
            self.checker.close()

    def __enter__(self) -> MessageChecker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def check(
        self,
        text: str,
        *,
        language: str = "en",
        platform: str = "x",
        account: str | None = None,
        target: Target = "statement",
        author: str | None = None,
    ) -> CheckResult:
        account = account or self.brand.account_for(platform) or "brand"
        draft = Draft(account=account, platform=platform, text=text, author=author, language=language)
        result = CheckResult(findings=self.doctrine(draft, target=target))
        prepublish = self.checker.check(draft)
        result.findings.extend(_second_opinion(f) for f in prepublish.findings)
        result.notes.extend(prepublish.notes)
        return result

    def doctrine(self, draft: Draft, *, target: Target, blocks_only: bool = False) -> list[Finding]:
        """`blocks_only`: only the rules that block when they match (for a quoted phrase)."""
        pack = doctrine_pack(draft.language)
        subject = MessageSubject(
            draft=draft,
            policy=self.brand.policy,
            platform=load_platforms().get(draft.platform),
            language=draft.language,
            brand=self.brand.profile,
            target=target,
        )
        found: list[Finding] = []
        for compiled in pack.rules:
            rule = compiled.rule
            options = rule.options or {}
            if target not in options.get("targets", ("statement", "reply")):
                continue
            severity = options.get("reply_severity", rule.severity) if target == "reply" else rule.severity
            if blocks_only and (severity != "block" or options.get("require") or compiled.regex is None):
                continue
            for match, detail in _hits(compiled, subject, options):
                found.append(
                    Finding(
                        rule=rule.id,
                        family=rule.family,
                        severity=severity,
                        message=rule.message.format(match=match, detail=detail),
                        match=match,
                    )
                )
        return found


def _hits(compiled: Any, subject: MessageSubject, options: dict[str, Any]) -> Iterator[Hit]:
    if compiled.regex is not None:
        if options.get("require"):
            if compiled.regex.search(subject.draft.text) is None:
                yield "", ""
            return
        seen: set[str] = set()
        for m in compiled.regex.finditer(subject.draft.text):
            if m.group(0).lower() not in seen:
                seen.add(m.group(0).lower())
                yield m.group(0), ""
        return
    check = DOCTRINE_CHECKS.get(compiled.rule.check) if compiled.rule.check else None
    if check is not None:
        yield from check(subject, options)
    else:
        yield from BUILTINS[compiled.rule.check](subject)


def _second_opinion(finding: Finding) -> Finding:
    if finding.family in SECOND_OPINION_FAMILIES and finding.severity == "block":
        return Finding(
            rule=finding.rule,
            family=finding.family,
            severity="warn",
            match=finding.match,
            message=finding.message + " (the sign-off on this message is that second opinion)",
        )
    return finding
