"""What the numbers are about: top authors and posts by reach, the likely trigger post (the brand
post most answered in the window), and a look-up of our own posts on the channel (live or deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.listen.refs import post_url
from runbook.listen.spikes import brand_window
from runbook.listen.tables import mentions

__all__ = ["find_post", "top_authors", "top_posts", "trigger_post"]


def top_authors(
    engine: Engine,
    accounts: Sequence[tuple[str | None, str]] | None,
    *,
    since: datetime,
    until: datetime,
    limit: int = 5,
    by: str = "reach",
) -> list[dict[str, Any]]:
    """Authors by reach (followers) or by engagement (mentions + their engagement)."""
    followers = sa.func.max(mentions.c.author_followers).label("followers")
    count = sa.func.count().label("mentions")
    engaged = (sa.func.count() + sa.func.sum(mentions.c.engagement)).label("engagement")
    negative = sa.func.sum(mentions.c.negative).label("negative")
    order = followers.desc() if by == "reach" else engaged.desc()
    query = (
        sa.select(mentions.c.author, mentions.c.platform, followers, count, engaged, negative)
        .where(*brand_window(accounts, since, until))
        .group_by(mentions.c.author, mentions.c.platform)
        .order_by(order, mentions.c.author)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            {
                "author": r.author,
                "platform": r.platform,
                "followers": int(r.followers or 0),
                "mentions": int(r.mentions),
                "engagement": int(r.engagement or 0),
                "negative": int(r.negative or 0),
            }
            for r in connection.execute(query)
        ]


# The signature every evidence query here has (engine, accounts, then the window by keyword), so
# assess and the alert details call them alike; each selects and shapes its own rows.
def top_posts(
    engine: Engine,
    accounts: Sequence[tuple[str | None, str]] | None,
    *,
    since: datetime,
    until: datetime,
    limit: int = 5,
) -> list[dict[str, Any]]:
    reach = (mentions.c.author_followers + mentions.c.engagement).label("reach")
    query = (
        sa.select(
            mentions.c.ref,
            mentions.c.platform,
            mentions.c.author,
            mentions.c.author_followers,
            mentions.c.text,
            mentions.c.url,
            mentions.c.sentiment,
            mentions.c.created_at,
            reach,
        )
        .where(*brand_window(accounts, since, until))
        .order_by(reach.desc(), mentions.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            {
                "ref": r.ref,
                "platform": r.platform,
                "author": r.author,
                "followers": r.author_followers,
                "text": r.text[:280],
                "url": r.url,
                "sentiment": r.sentiment,
                "at": r.created_at.isoformat(),
            }
            for r in connection.execute(query)
        ]


# The evidence queries' common signature again (see top_posts); the window is brand_window's.
def trigger_post(
    engine: Engine,
    accounts: Sequence[tuple[str | None, str]] | None,
    *,
    since: datetime,
    until: datetime,
    channel: Any = None,
) -> dict[str, Any] | None:
    """The post most answered in the window (likely the brand's offending post), with its text if known."""
    answers = sa.func.count().label("answers")
    query = (
        sa.select(mentions.c.in_reply_to, mentions.c.platform, mentions.c.account, answers)
        .where(*brand_window(accounts, since, until), mentions.c.in_reply_to.is_not(None))
        .group_by(mentions.c.in_reply_to, mentions.c.platform, mentions.c.account)
        .order_by(answers.desc(), mentions.c.in_reply_to)
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    out: dict[str, Any] = {
        "ref": row.in_reply_to,
        "platform": row.platform,
        "account": row.account,
        "answers": int(row.answers),
        "url": post_url(row.account, row.in_reply_to),
    }
    post = find_post(channel, row.in_reply_to)
    if post is not None:
        out.update(text=post["text"][:280], live=post["live"], url=post.get("url") or out["url"])
    return out


def find_post(channel: Any, ref: str | None) -> dict[str, Any] | None:
    """One of our posts on the channel: text, live or deleted. Channels that cannot tell give None.

    The Channel port has no read of a single post; the sandbox lists its posts, and any channel
    offering `get_post(ref) -> dict | None` (text, deleted_at or live) is asked directly.
    """
    if channel is None or not ref:
        return None
    getter = getattr(channel, "get_post", None)
    if callable(getter):
        found = getter(ref)
        if found is None:
            return None
        live = found.get("live", found.get("deleted_at") is None)
        return {
            "ref": ref,
            "text": str(found.get("text", "")),
            "live": bool(live),
            "url": found.get("url"),
            "account": found.get("account"),
            "at": found.get("created_at"),
            "platform": found.get("platform"),
        }
    lister = getattr(channel, "posts", None)
    if callable(lister):
        for post in lister():
            if post.get("ref") == ref:
                return {
                    "ref": ref,
                    "text": post["text"],
                    "live": post.get("deleted_at") is None,
                    "account": post.get("account"),
                    "url": None,
                    "at": post.get("created_at"),
                    "platform": post.get("platform"),
                }
    return None
