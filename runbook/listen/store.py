"""Storing scored mentions (insert-or-ignore on platform + ref) and reading them back by window.

`mentions_in_window` is the contract other parts use to find everyone who spoke about the brand
(the replies step answers each of them): keep its signature stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from runbook.audit.models import as_utc
from runbook.listen.language import LanguageDetector, detect_language
from runbook.listen.model import KINDS, NewMention, StoredMention
from runbook.listen.sentiment import SentimentAnalyzer, default_analyzer, is_negative
from runbook.listen.tables import mentions

__all__ = [
    "epoch_of",
    "epoch_range",
    "existing_refs",
    "insert_rows",
    "mentions_in_window",
    "score_rows",
    "store_mentions",
]

_CHUNK = 1000
_MAX_TEXT = 10_000


def epoch_of(moment: datetime) -> int:
    return int(as_utc(moment).timestamp())


def epoch_range(since: datetime, until: datetime) -> list[sa.ColumnElement[bool]]:
    """WHERE terms for mentions created in [since, until) on the whole-second epoch column. The end
    rounds up: a mention from earlier in the same second as `until` (a window ending "now") is in."""
    end = as_utc(until).timestamp()
    return [mentions.c.epoch >= epoch_of(since), mentions.c.epoch < math.ceil(end)]


def existing_refs(connection: Connection, platform: str, refs: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(refs), _CHUNK):
        chunk = list(refs[start : start + _CHUNK])
        found.update(
            connection.execute(
                sa.select(mentions.c.ref).where(mentions.c.platform == platform, mentions.c.ref.in_(chunk))
            ).scalars()
        )
    return found


def score_rows(
    items: Iterable[NewMention],
    *,
    source: str,
    analyzer: SentimentAnalyzer | None = None,
    detector: LanguageDetector | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Detect the language and score each mention: rows ready to insert (CPU only, no database)."""
    analyzer = analyzer or default_analyzer()
    detect = detector.detect if detector is not None else detect_language
    ingested_at = as_utc(now)
    rows = []
    for m in items:
        text = m.text[:_MAX_TEXT]
        language = m.language or detect(text)
        label, score, needs = _verdict(analyzer, m, text, language)
        kind = m.kind or ("reply" if m.in_reply_to else "mention")
        if kind not in KINDS:
            raise ValueError(f"mention kind must be one of {', '.join(KINDS)}, got {kind!r}")
        created = as_utc(m.created_at)
        rows.append(
            {
                "platform": m.platform,
                "ref": m.ref,
                "account": m.account,
                "author": m.author,
                "author_followers": max(0, int(m.author_followers or 0)),
                "text": text,
                "language": language[:8],
                "sentiment": round(float(score), 4),
                "negative": 1 if is_negative(score) else 0,
                "epoch": int(created.timestamp()),
                "created_at": created,
                "in_reply_to": m.in_reply_to,
                "url": m.url,
                "kind": kind,
                "engagement": max(0, int(m.engagement or 0)),
                "source": source[:200],
                "ingested_at": ingested_at,
                "meta": m.meta or {},
                "label": label,
                "needs_answer": int(needs),
            }
        )
    return rows


def _verdict(analyzer: SentimentAnalyzer, m: NewMention, text: str, language: str) -> tuple[str, float, bool]:
    """(label, score, needs_answer): the analyser's verdict when it gives one (the complaint model),
    else a label from the score; a score carried by an export wins over the analyser's."""
    assess = getattr(analyzer, "assess", None)
    if m.sentiment is None and assess is not None:
        verdict = assess(text, language)
        return verdict.label, verdict.score, verdict.needs_answer
    score = m.sentiment if m.sentiment is not None else analyzer.score(text, language)
    label = "negative" if is_negative(score) else ("positive" if score >= 0.05 else "neutral")
    return label, score, label == "negative"


def insert_rows(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert, ignoring mentions already stored (also those another process stored meanwhile)."""
    if not rows:
        return 0
    dialect = connection.dialect.name
    statement: sa.Insert  # the dialect's own insert, for its ON CONFLICT clause
    if dialect == "sqlite":
        statement = sqlite.insert(mentions).on_conflict_do_nothing(index_elements=["platform", "ref"])
    elif dialect == "postgresql":
        statement = postgresql.insert(mentions).on_conflict_do_nothing(index_elements=["platform", "ref"])
    else:  # pragma: no cover - the product supports SQLite and PostgreSQL
        raise RuntimeError(f"unsupported database {dialect}")
    inserted = 0
    for start in range(0, len(rows), _CHUNK):
        result = connection.execute(statement.returning(mentions.c.id), list(rows[start : start + _CHUNK]))
        inserted += len(result.all())
    return inserted


# score_rows' scoring keywords (source, analyzer, detector, now) again, as in store_mentions below: each
# layer passes them on by name, so the importer's and the ingester's calls stay checked keyword by keyword.
def score_unstored(
    engine: Engine,
    items: Sequence[NewMention],
    *,
    source: str,
    analyzer: SentimentAnalyzer | None = None,
    detector: LanguageDetector | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """`score_rows` of the items not stored yet: scoring is the costly part, so what a re-import or
    a page fetched again already stored is looked up first (read only, before the write)."""
    by_platform: dict[str, list[str]] = {}
    for m in items:
        by_platform.setdefault(m.platform, []).append(m.ref)
    with engine.connect() as connection:
        known = {(p, r) for p, refs in by_platform.items() for r in existing_refs(connection, p, refs)}
    fresh = [m for m in items if (m.platform, m.ref) not in known]
    return score_rows(fresh, source=source, analyzer=analyzer, detector=detector, now=now)


def _unique(items: Iterable[NewMention]) -> list[NewMention]:
    seen: set[tuple[str, str]] = set()
    out = []
    for m in items:
        if (m.platform, m.ref) not in seen:
            seen.add((m.platform, m.ref))
            out.append(m)
    return out


# The same keywords as score_unstored above, which this passes them to unchanged (see there).
def store_mentions(
    engine: Engine,
    items: Iterable[NewMention],
    *,
    source: str,
    analyzer: SentimentAnalyzer | None = None,
    detector: LanguageDetector | None = None,
    now: datetime | None = None,
) -> int:
    """Score and store mentions in one transaction; returns how many were new."""
    from runbook.db import write_transaction

    # Re-imports skip scoring what is stored already.
    rows = score_unstored(engine, _unique(items), source=source, analyzer=analyzer, detector=detector, now=now)
    return write_transaction(engine, lambda connection: insert_rows(connection, rows))


def _row_to_mention(row: sa.Row) -> StoredMention:
    data = row._mapping
    return StoredMention(
        id=data["id"],
        platform=data["platform"],
        ref=data["ref"],
        account=data["account"],
        author=data["author"],
        author_followers=data["author_followers"],
        text=data["text"],
        language=data["language"],
        sentiment=data["sentiment"],
        negative=bool(data["negative"]),
        created_at=data["created_at"],
        in_reply_to=data["in_reply_to"],
        url=data["url"],
        kind=data["kind"],
        engagement=data["engagement"],
        source=data["source"],
        meta=dict(data["meta"] or {}),
        label=data["label"],
        needs_answer=bool(data["needs_answer"]),
    )


def window_filter(
    *, since: datetime, until: datetime, accounts: Sequence[str] | None = None, platforms: Sequence[str] | None = None
) -> list[sa.ColumnElement[bool]]:
    """WHERE terms for [since, until) on the indexed epoch column, optionally by account and platform."""
    terms = epoch_range(since, until)
    if accounts is not None:
        terms.append(mentions.c.account.in_(list(accounts)))
    if platforms is not None:
        terms.append(mentions.c.platform.in_(list(platforms)))
    return terms


def mentions_in_window(
    engine: Engine,
    *,
    since: datetime,
    until: datetime,
    accounts: Sequence[str] | None = None,
    platforms: Sequence[str] | None = None,
    in_reply_to: str | None = None,
    limit: int | None = None,
) -> list[StoredMention]:
    """Every stored mention created in [since, until), oldest first (then by id).

    `accounts` / `platforms` narrow to brand accounts and networks (None: all); `in_reply_to`
    keeps only the answers to one post (e.g. the offending one); `limit` caps the list.
    Times are compared at one-second precision (the stored epoch).
    """
    query = sa.select(mentions).where(*window_filter(since=since, until=until, accounts=accounts, platforms=platforms))
    if in_reply_to is not None:
        query = query.where(mentions.c.in_reply_to == in_reply_to)
    query = query.order_by(mentions.c.epoch, mentions.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [_row_to_mention(row) for row in connection.execute(query)]
