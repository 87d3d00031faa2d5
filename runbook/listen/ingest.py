"""Ingestion from a Channel: pages of mentions after a stored cursor, stored with the cursor's
advance in ONE transaction, so a crash before the commit loses nothing (the page is fetched
again) and a crash after it doubles nothing (the cursor moved; duplicates are ignored anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.listen.language import LanguageDetector
from runbook.listen.model import KINDS, NewMention
from runbook.listen.sentiment import SentimentAnalyzer
from runbook.listen.store import insert_rows, score_unstored
from runbook.listen.tables import cursors
from runbook.ports.channel import Channel, Mention

__all__ = ["IngestResult", "from_channel_mention", "ingest_channel", "read_cursor"]

PAGE_SIZE = 500


@dataclass(frozen=True)
class IngestResult:
    source: str
    account: str
    platform: str | None
    pages: int
    fetched: int
    inserted: int
    cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def from_channel_mention(m: Mention) -> NewMention:
    meta = dict(m.meta or {})
    kind = meta.get("kind") if meta.get("kind") in KINDS else None
    engagement = sum(
        int(meta.get(k) or 0)
        for k in ("likes", "reposts", "replies", "quotes")
        if isinstance(meta.get(k), (int, float))
    )
    # Field by field from the port's Mention (both plain dataclasses, no model_validate): url, kind and
    # engagement are derived from meta above, and the rest keep their names, which mypy checks one by one.
    return NewMention(
        platform=m.platform,
        ref=m.ref,
        account=m.account,
        author=m.author,
        author_followers=m.author_followers,
        text=m.text,
        created_at=m.created_at,
        in_reply_to=m.in_reply_to,
        url=meta.get("url") if isinstance(meta.get("url"), str) else None,
        kind=kind,
        engagement=engagement,
        meta=meta,
    )


def _key(source: str, account: str, platform: str | None) -> dict[str, str]:
    return {"source": source, "account": account, "platform": platform or ""}


def read_cursor(
    engine_or_connection: Engine | Connection, *, source: str, account: str, platform: str | None = None
) -> str | None:
    key = _key(source, account, platform)
    query = sa.select(cursors.c.cursor).where(*(cursors.c[name] == value for name, value in key.items()))
    if isinstance(engine_or_connection, Connection):
        return engine_or_connection.execute(query).scalar()
    with engine_or_connection.connect() as connection:
        return connection.execute(query).scalar()


def _advance(
    connection: Connection, *, key: dict[str, str], old: str | None, new: str | None, fetched: int, now: datetime
) -> None:
    where = [cursors.c[name] == value for name, value in key.items()]
    row = connection.execute(sa.select(cursors.c.cursor, cursors.c.fetched).where(*where)).first()
    if row is None:
        connection.execute(cursors.insert().values(**key, cursor=new, fetched=fetched, updated_at=now))
    elif row.cursor == old:
        connection.execute(
            cursors.update().where(*where).values(cursor=new, fetched=row.fetched + fetched, updated_at=now)
        )
    # else: another ingester moved the cursor past this page meanwhile; its position stands.


# Engine, channel, then keyword-only options, the shape resolve_alert's signature has too: the demo,
# the drill, the monitor and the benches each set a different few of them by name.
def ingest_channel(
    engine: Engine,
    channel: Channel,
    *,
    source: str,
    account: str,
    platform: str | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int | None = None,
    analyzer: SentimentAnalyzer | None = None,
    detector: LanguageDetector | None = None,
    now: datetime | None = None,
    before_commit: Callable[[Connection, list[NewMention]], None] | None = None,
) -> IngestResult:
    """Fetch every page after the stored cursor of (source, account, platform), score and store it.

    `before_commit` runs inside each page's transaction after the insert: tests use it to crash
    between fetch and commit.
    """
    key = _key(source, account, platform)
    pages = fetched = inserted = 0
    cursor = read_cursor(engine, source=source, account=account, platform=platform)
    while max_pages is None or pages < max_pages:
        page = channel.mentions(account, platform=platform, since=cursor, limit=page_size)
        if not page.items:
            break
        items = [from_channel_mention(m) for m in page.items]
        # A page fetched again after a crash is not re-scored.
        rows = score_unstored(engine, items, source=source, analyzer=analyzer, detector=detector, now=now)
        old, new = cursor, page.cursor

        def work(connection: Connection, rows=rows, old=old, new=new, items=items) -> int:
            count = insert_rows(connection, rows)
            _advance(connection, key=key, old=old, new=new, fetched=len(items), now=as_utc(now))
            if before_commit is not None:
                before_commit(connection, items)
            return count

        inserted += write_transaction(engine, work)
        pages += 1
        fetched += len(items)
        cursor = new
        if len(page.items) < page_size or new is None or new == old:
            break
    return IngestResult(
        source=source,
        account=account,
        platform=platform,
        pages=pages,
        fetched=fetched,
        inserted=inserted,
        cursor=cursor,
    )
