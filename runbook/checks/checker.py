"""`Checker`: runs the language's rule pack over a draft and returns every finding.

Used by the queue when a post is scheduled and again just before it publishes, by the thaw to
re-check frozen posts, and by `runbook check-post`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from runbook.checks.links import LinkProber
from runbook.checks.matchers import BUILTINS, Subject
from runbook.checks.model import CheckResult, Draft, Finding
from runbook.checks.packs import CompiledRule, pack_for
from runbook.checks.platforms import load_platforms
from runbook.checks.policy import Policy

Context = Literal["publish", "thaw"]


class Checker:
    """`links=False` skips the HTTP checks (offline); the result then carries a note saying so."""

    def __init__(
        self, policy: Policy | None = None, *, links: bool | None = None, rules_dir: Path | None = None
    ) -> None:
        self.policy = policy or Policy()
        self.rules_dir = rules_dir
        check_links = self.policy.link_checks if links is None else links
        self.prober = (
            LinkProber(timeout=self.policy.link_timeout, shorteners=self.policy.link_shorteners)
            if check_links
            else None
        )

    def close(self) -> None:
        if self.prober is not None:
            self.prober.close()

    def check(self, draft: Draft, *, context: Context = "publish") -> CheckResult:
        language = draft.language or self.policy.default_language
        pack = pack_for(language, self.rules_dir)
        ignore = tuple(pack.spelling.ignore if pack.spelling else ()) + tuple(self.policy.spelling_ignore)
        subject = Subject(
            draft=draft,
            policy=self.policy,
            platform=load_platforms().get(draft.platform),
            links=self.prober,
            spelling_ignore=ignore,
            language=pack.spelling.dictionary if pack.spelling else language,
        )
        result = CheckResult()
        kind = self.policy.account_kind(draft.account)
        for compiled in pack.rules:
            rule = compiled.rule
            # A thaw re-runs every publish rule plus its own (crisis tone).
            if (context == "publish" and "publish" not in rule.contexts) or rule.accounts not in ("any", kind):
                continue
            for match, detail in _hits(compiled, subject):
                result.findings.append(
                    Finding(
                        rule=rule.id,
                        family=rule.family,
                        severity=rule.severity,
                        message=rule.message.format(match=match, detail=detail),
                        match=match,
                    )
                )
        if self.prober is None and "http" in draft.text:
            result.notes.append("link checks skipped (offline mode): links were not verified")
        return result


def _hits(compiled: CompiledRule, subject: Subject):
    rule = compiled.rule
    if compiled.regex is not None:
        seen: set[str] = set()
        for m in compiled.regex.finditer(subject.draft.text):
            word = m.group(0)
            if word.lower() not in seen:
                seen.add(word.lower())
                yield word, ""
        return
    # A rule without a regex is a `check:` rule: the pack refuses any other shape on load.
    assert rule.check is not None, f"rule {rule.id} has no matcher"
    yield from BUILTINS[rule.check](subject)
