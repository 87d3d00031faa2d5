"""Ordinary traffic for the sandbox network: a seeded, deterministic stream of everyday mentions
(questions, praise, gripes) with a daily rhythm, to put a baseline week before a storm.

Used by the tests, the benchmark and demos; writes sandbox mentions under per-mention keys,
so writing the same stream twice adds nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.sandbox.network import ensure_account
from runbook.sandbox.tables import mentions as sandbox_mentions

__all__ = ["MentionRow", "Traffic", "everyday_mentions", "load_traffic"]

TEMPLATES = {
    "question": [
        "@{brand} what time does support open tomorrow?",
        "@{brand} can I change my booking online?",
        "@{brand} any news on the new app update?",
        "@{brand} is there a student discount?",
        "@{brand} hoe laat gaat de klantenservice open?",
    ],
    "praise": [
        "Great service from @{brand} today, thanks!",
        "@{brand} love the new menu, well done",
        "Shout out to the friendly team at @{brand}",
        "@{brand} bedankt voor de snelle hulp, top!",
    ],
    "gripe": [
        "@{brand} my order is late again, not happy",
        "@{brand} waited an hour on hold, terrible",
        "@{brand} the app keeps crashing, annoying",
        "@{brand} slechte service vandaag, jammer",
    ],
    "neutral": [
        "Heading to @{brand} for lunch",
        "Reading about @{brand} plans for next year",
        "@{brand} announced new opening hours",
    ],
}
TONES = {"question": 0.35, "praise": 0.25, "gripe": 0.15, "neutral": 0.25}


class MentionRow(TypedDict):
    """One row of the sandbox `mentions` table, as the stream writes it."""

    key: str
    platform: str
    account: str
    author: str
    author_followers: int
    text: str
    in_reply_to: str | None
    created_at: datetime
    meta: dict[str, Any]


@dataclass(frozen=True)
class Traffic:
    account: str
    platform: str = "x"
    per_hour: float = 8.0  # average mentions per hour
    daily_swing: float = 0.5  # 0: flat; 0.5: nights at half, afternoons at one and a half times the mean
    growth_per_day: float = 0.0  # 0.05: five percent more each day (a slow rise)
    seed: int = 1


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation keeps big rates fast
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def everyday_mentions(traffic: Traffic, *, start: datetime, end: datetime) -> list[MentionRow]:
    """Sandbox mention rows for [start, end), hour by hour; deterministic for the same arguments."""
    start, end = as_utc(start), as_utc(end)
    rng = random.Random(f"{traffic.account}:{traffic.seed}:{start.isoformat()}")
    rows: list[MentionRow] = []
    hour = start
    index = 0
    while hour < end:
        days = (hour - start).total_seconds() / 86400
        phase = math.sin((hour.hour - 9) / 24 * 2 * math.pi)  # peaks mid-afternoon, lowest at night
        rate = traffic.per_hour * (1 + traffic.daily_swing * phase) * (1 + traffic.growth_per_day) ** days
        for _ in range(_poisson(rng, rate)):
            at = hour + timedelta(seconds=rng.uniform(0, 3600))
            if at >= end:
                continue
            tone = rng.choices(list(TONES), weights=list(TONES.values()))[0]
            author = f"{rng.choice(['sam', 'lee', 'kim', 'jo', 'ari', 'noa', 'max', 'eli'])}{rng.randint(1, 4000)}"
            rows.append(
                {
                    "key": f"traffic:{traffic.platform}:{traffic.account}:{traffic.seed}:{start.isoformat()}:{index}",
                    "platform": traffic.platform,
                    "account": traffic.account,
                    "author": author,
                    "author_followers": min(int(30 * rng.paretovariate(1.3)), 2_000_000),
                    "text": rng.choice(TEMPLATES[tone]).format(brand=traffic.account),
                    "in_reply_to": None,
                    "created_at": at,
                    "meta": {"tone": tone, "traffic": True},
                }
            )
            index += 1
        hour += timedelta(hours=1)
    rows.sort(key=lambda r: r["created_at"])
    return rows


def load_traffic(engine: Engine, traffic: Traffic, *, start: datetime, end: datetime) -> int:
    """Write the stream into the sandbox network (idempotent); returns how many rows were new."""
    ensure_account(engine, handle=traffic.account, platform=traffic.platform, kind="brand", followers=250_000)
    rows = everyday_mentions(traffic, start=start, end=end)

    def work(connection: Connection) -> int:
        prefix = f"traffic:{traffic.platform}:{traffic.account}:{traffic.seed}:{as_utc(start).isoformat()}:"
        have = set(
            connection.execute(
                sa.select(sandbox_mentions.c.key).where(sandbox_mentions.c.key.startswith(prefix))
            ).scalars()
        )
        new = [r for r in rows if r["key"] not in have]
        for chunk in range(0, len(new), 5000):
            connection.execute(sandbox_mentions.insert(), new[chunk : chunk + 5000])
        return len(new)

    return write_transaction(engine, work)
