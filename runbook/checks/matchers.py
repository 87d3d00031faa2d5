"""Matchers: word lists and patterns compiled to one regex per rule, and the built-in checks a rule
names with `check:` (each yields (match, detail) pairs, one finding each).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from runbook.checks import text as tx
from runbook.checks.model import Draft
from runbook.checks.platforms import PlatformSpec, length

Hit = tuple[str, str]  # (what matched, detail for the message)


def compile_words(words: list[str]) -> re.Pattern[str]:
    """Whole words or phrases, case-insensitive; a trailing `*` makes a prefix ("pray*")."""
    worded: list[str] = []
    others: list[str] = []
    for word in sorted(words, key=len, reverse=True):  # longest first: "domestic violence" before "violence"
        prefix = word.endswith("*")
        stem = word.rstrip("*")
        body = re.escape(stem).replace(r"\ ", r"\s+")
        # Word edges only where the word starts or ends with a word character, so emoji and
        # "% off" match too; "#pray" matches "pray*" but "@prayer" (a handle) does not.
        tail = r"\w*" if prefix else (r"(?!\w)" if re.search(r"\w$", stem) else "")
        (worded if re.match(r"\w", stem) else others).append(body + tail)
    # One shared look-behind in front of the words (same matches): ~6x faster than one per word.
    parts = ([r"(?<![\w@])(?:" + "|".join(worded) + ")"] if worded else []) + others
    return re.compile("|".join(parts), re.IGNORECASE)


def compile_patterns(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass
class Subject:
    """A draft plus everything the built-ins need, computed once per check."""

    draft: Draft
    policy: Any  # runbook.checks.policy.Policy
    platform: PlatformSpec | None
    links: Any = None  # LinkProber, or None when link checks are off
    spelling_ignore: tuple[str, ...] = ()
    language: str = "en"
    _cache: dict[str, Any] = field(default_factory=dict)

    def probes(self) -> list[Any]:
        if "probes" not in self._cache:
            found = list(dict.fromkeys(tx.urls(self.draft.text)))
            self._cache["probes"] = [self.links.probe(u) for u in found] if self.links is not None else []
        return self._cache["probes"]


def hashtag_unreviewed(s: Subject) -> Iterator[Hit]:
    for tag in dict.fromkeys(tx.hashtags(s.draft.text)):
        if tag.casefold() not in s.policy.reviewed:
            yield f"#{tag}", "not reviewed"


def hashtag_malformed(s: Subject) -> Iterator[Hit]:
    text = tx.without_urls(s.draft.text)
    for _ in re.finditer(r"(?<![\w&#])#(?=\s|$)", text):
        yield "#", "a # with no tag after it"
    for m in re.finditer(r"(?<![\w&#])##+\w*", text):
        yield m.group(0), "more than one #"
    for m in re.finditer(r"(?<![\w&#])#(\w+)([-'’.]\w+)", text):
        yield m.group(0), f"'{m.group(2)[0]}' ends the tag early: only #{m.group(1)} would be linked"
    for tag in tx.hashtags(text):
        if tag.isdigit():
            yield f"#{tag}", "a tag of only digits is not linked"
        elif len(tag) > 100:
            yield f"#{tag[:20]}…", "longer than 100 characters"


def mention_malformed(s: Subject) -> Iterator[Hit]:
    handle_re = s.platform.handle_re() if s.platform is not None else None
    for body in tx.mentions(s.draft.text):
        if not body:
            yield "@", "an @ with no account after it"
        elif body.startswith("@"):
            yield f"@{body}", "more than one @"
        elif handle_re is not None and not handle_re.match(body):
            yield f"@{body}", f"not a valid {s.draft.platform} handle"


def account_author(s: Subject) -> Iterator[Hit]:
    accounts = s.policy.accounts
    if not accounts:
        return
    account = accounts.get(s.draft.account)
    if account is None:
        yield s.draft.account, f"account {s.draft.account} is not one of the brand's accounts ({', '.join(accounts)})"
        return
    if account.platforms and s.draft.platform not in account.platforms:
        yield (
            s.draft.account,
            f"account {s.draft.account} is not used on {s.draft.platform} ({', '.join(account.platforms)})",
        )
    if account.authors is not None and s.draft.author is not None and s.draft.author not in account.authors:
        yield (
            s.draft.author,
            f"{s.draft.author} may not post on {s.draft.account} (allowed: {', '.join(account.authors) or 'nobody'})",
        )


def link_broken(s: Subject) -> Iterator[Hit]:
    for status in s.probes():
        if not status.ok:
            yield status.url, status.detail


def link_redirect(s: Subject) -> Iterator[Hit]:
    for status in s.probes():
        if status.ok and status.elsewhere:
            yield status.url, status.elsewhere


def media_unreviewed(s: Subject) -> Iterator[Hit]:
    for media in s.draft.media:
        if media.sha256 is None:
            yield media.name, "the file cannot be read"
        elif media.sha256 not in s.policy.assets:
            yield media.name, f"content hash {media.sha256[:12]}… is unknown; hold it for review"


def platform_length(s: Subject) -> Iterator[Hit]:
    if s.platform is None:
        yield s.draft.platform, f"unknown platform {s.draft.platform!r}"
        return
    used = length(s.draft.text, s.platform)
    if used > s.platform.max_chars:
        yield str(used), f"{used} characters; {s.draft.platform} allows {s.platform.max_chars}"
    if not s.draft.text.strip() and not s.draft.media:
        yield "", "the post is empty"


def platform_media(s: Subject) -> Iterator[Hit]:
    if s.platform is None:
        return
    count = len(s.draft.media)
    if count > s.platform.max_media:
        yield str(count), f"{count} media; {s.draft.platform} allows {s.platform.max_media}"
    if count < s.platform.min_media:
        yield str(count), f"{s.draft.platform} needs at least {s.platform.min_media} image or video"


def spelling(s: Subject) -> Iterator[Hit]:
    from runbook.checks.spelling import unknown_words

    for word in unknown_words(s.draft.text, s.language, s.spelling_ignore):
        yield word, ""


BUILTINS: dict[str, Callable[[Subject], Iterator[Hit]]] = {
    "account_author": account_author,
    "hashtag_malformed": hashtag_malformed,
    "hashtag_unreviewed": hashtag_unreviewed,
    "link_broken": link_broken,
    "link_redirect": link_redirect,
    "media_unreviewed": media_unreviewed,
    "mention_malformed": mention_malformed,
    "platform_length": platform_length,
    "platform_media": platform_media,
    "spelling": spelling,
}
