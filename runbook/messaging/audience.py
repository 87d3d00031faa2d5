"""Who to answer: every person who mentioned or answered the brand about the incident in its
window, one entry per person (deduplicated by platform and handle), without bots and without the
brand's own accounts, with what they said, in which language, about what.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook.messaging.concerns import cleaned, concern_of, quote_of

DEFAULT_BOTS = (r"(?i)(?:^|_)bot(?:$|_)|bot\d*$|^bot",)


@dataclass(frozen=True)
class Heard:
    """One mention, whatever store it came from."""

    ref: str
    platform: str
    account: str  # the brand account mentioned or answered
    author: str
    text: str
    created_at: datetime
    language: str | None = None
    in_reply_to: str | None = None
    followers: int = 0
    kind: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    negative: bool | None = None  # as stored by the listening store's analyser (None: not scored)
    needs_answer: bool | None = None  # the stored verdict: a complaint, a question, a call for help


def _heard(
    m: Any,
    *,
    created_at: datetime,
    language: str | None,
    kind: str | None = None,
    negative: bool | None = None,
    needs_answer: bool | None = None,
) -> Heard:
    """A stored mention or a network's mention as Heard: the fields both carry under the same names."""
    # Named one by one: a stored mention and a network's share these names but no type, and followers
    # is author_followers.
    return Heard(
        ref=m.ref,
        platform=m.platform,
        account=m.account,
        author=m.author,
        text=m.text,
        created_at=created_at,
        language=language,
        in_reply_to=m.in_reply_to,
        followers=m.author_followers,
        kind=kind,
        meta=dict(m.meta or {}),
        negative=negative,
        needs_answer=needs_answer,
    )


def heard_in_window(
    engine: Any, *, accounts: Sequence[str] | None, platforms: Sequence[str] | None, since: datetime, until: datetime
) -> list[Heard]:
    """The one place the reply step reads mentions from: the listening store (issue 5).
    To read the network directly instead, return `from_channel(...)` here."""
    return from_listening(engine, accounts=accounts, platforms=platforms, since=since, until=until)


def from_listening(
    engine: Any, *, accounts: Sequence[str] | None, platforms: Sequence[str] | None, since: datetime, until: datetime
) -> list[Heard]:
    from runbook.listen.store import mentions_in_window

    found = mentions_in_window(engine, since=since, until=until, accounts=accounts, platforms=platforms)
    return [
        _heard(
            m,
            created_at=m.created_at,
            language=m.language if m.language not in (None, "", "und") else None,
            kind=m.kind,
            negative=m.negative,
            needs_answer=getattr(m, "needs_answer", None),
        )
        for m in found
    ]


def from_channel(
    channel: Any,
    *,
    accounts: Sequence[str],
    platforms: Sequence[str] | None,
    since: datetime,
    until: datetime,
    page: int = 1000,
) -> list[Heard]:
    """Every mention of `accounts` the channel returns, kept when inside [since, until)."""
    from runbook.audit.models import as_utc

    out: list[Heard] = []
    for account in accounts:
        cursor = None
        while True:
            got = channel.mentions(account, since=cursor, limit=page)
            for m in got.items:
                at = as_utc(m.created_at)
                if since <= at < until and (platforms is None or m.platform in platforms):
                    lang = (m.meta or {}).get("lang")
                    out.append(_heard(m, created_at=at, language=lang if isinstance(lang, str) else None))
            if len(got.items) < page or got.cursor in (None, cursor):
                break
            cursor = got.cursor
    return sorted(out, key=lambda h: h.created_at)


@dataclass
class Person:
    key: str  # "platform:handle", casefolded
    platform: str
    author: str
    account: str
    language: str
    mentions: list[Heard]
    primary: Heard  # the mention answered and quoted: the one that says most, latest on a tie
    groups: list[dict[str, Any]] = field(default_factory=list)  # concern groups (runbook.messaging.grouping)

    @property
    def said(self) -> str:
        return self.primary.text

    @property
    def first_at(self) -> datetime:
        return min(m.created_at for m in self.mentions)

    @property
    def concern(self) -> str:
        return concern_of(self.said, self.language)

    def for_template(self) -> dict[str, Any]:
        terms = tuple(self.groups[0]["terms"]) if self.groups else ()
        return {
            "handle": self.author,
            "platform": self.platform,
            "language": self.language,
            "concern": self.concern,
            "said": cleaned(self.said),
            "quote": quote_of(self.said, language=self.language, terms=terms),
            "mentions": len(self.mentions),
            "followers": max(m.followers for m in self.mentions),
            "key": self.key,
        }


@dataclass(frozen=True)
class AudienceFilter:
    own_accounts: frozenset[str]  # casefolded handles: never answered
    bots: tuple[re.Pattern[str], ...]
    about: re.Pattern[str] | None = None  # words or tags the mention must contain (unless it answers the post)
    in_reply_to: str | None = None  # the offending post: its answers always count
    languages: frozenset[str] | None = None
    min_followers: int = 0
    exclude: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        own_accounts: Iterable[str],
        bots: Iterable[str] = DEFAULT_BOTS,
        about: Iterable[str] = (),
        in_reply_to: str | None = None,
        languages: Iterable[str] | None = None,
        min_followers: int = 0,
        exclude: Iterable[str] = (),
    ) -> AudienceFilter:
        words = [re.escape(w.lstrip("#")) for w in about if w.strip()]
        return cls(
            own_accounts=frozenset(a.lstrip("@").casefold() for a in own_accounts),
            bots=tuple(re.compile(b) for b in bots),
            about=re.compile(r"(?<!\w)#?(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE) if words else None,
            in_reply_to=in_reply_to,
            languages=frozenset(languages) if languages else None,
            min_followers=min_followers,
            exclude=frozenset(e.lstrip("@").casefold() for e in exclude),
        )

    def keeps(self, heard: Heard, language: str) -> bool:
        author = heard.author.lstrip("@")
        folded = author.casefold()
        if folded in self.own_accounts or folded == heard.account.casefold() or folded in self.exclude:
            return False
        if heard.meta.get("bot") or any(b.search(author) for b in self.bots):
            return False
        if heard.kind == "repost" and not cleaned(heard.text):
            return False  # a bare repost says nothing to answer
        if heard.followers < self.min_followers and self.min_followers:
            return False
        if self.languages is not None and language not in self.languages:
            return False
        if self.about is None:
            return True
        return (self.in_reply_to is not None and heard.in_reply_to == self.in_reply_to) or bool(
            self.about.search(heard.text)
        )


def language_of(heard: Heard, default: str) -> str:
    if heard.language:
        return heard.language
    lang = heard.meta.get("lang")
    if isinstance(lang, str) and lang:
        return lang
    from runbook.listen.language import detect_language

    found = detect_language(heard.text)
    return found if found not in ("und", "") else default


def people_from(
    heard: Iterable[Heard],
    keep: AudienceFilter,
    *,
    default_language: str = "en",
    languages: Sequence[str] = ("en", "nl"),
) -> list[Person]:
    """One Person per platform and handle, in order of their first mention."""
    by_key: dict[str, Person] = {}
    for h in heard:
        language = language_of(h, default_language)
        if language not in languages:
            language = default_language  # we write in languages we have templates for
        if not keep.keeps(h, language):
            continue
        key = f"{h.platform}:{h.author.lstrip('@').casefold()}"
        person = by_key.get(key)
        if person is None:
            by_key[key] = Person(
                key=key,
                platform=h.platform,
                author=h.author.lstrip("@"),
                account=h.account,
                language=language,
                mentions=[h],
                primary=h,
            )
            continue
        person.mentions.append(h)
        if (len(cleaned(h.text)), h.created_at) >= (len(cleaned(person.primary.text)), person.primary.created_at):
            person.primary, person.language, person.account = h, language, h.account
    return sorted(by_key.values(), key=lambda p: (p.first_at, p.key))
