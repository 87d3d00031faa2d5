"""The mention storm simulator: a seeded, deterministic burst of mentions after an offending post.

`generate` is pure (same scenario, seed, count and start give the same storm); `load_storm`
writes it into the sandbox network under per-mention keys, so loading twice adds nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.sandbox.network import SandboxChannel, ensure_account
from runbook.sandbox.scenarios import EMOJI, SCENARIOS, SYLLABLES, Scenario
from runbook.sandbox.tables import mentions

__all__ = ["StormMention", "StormResult", "generate", "load_storm", "scenario"]

MAX_MENTIONS = 1_000_000


@dataclass(frozen=True)
class StormMention:
    key: str
    author: str
    author_followers: int
    text: str
    created_at: datetime
    reply: bool  # answers the offending post (else a standalone mention)
    meta: dict[str, Any]


@dataclass(frozen=True)
class StormResult:
    scenario: str
    offending_ref: str
    account: str
    platform: str
    generated: int
    inserted: int
    first_at: datetime | None
    last_at: datetime | None


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def _handle(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return name + (str(rng.randint(1, 999)) if rng.random() < 0.6 else "")


def _followers(rng: random.Random) -> int:
    # Heavy tail: most people have a few hundred followers, a few have hundreds of thousands.
    return min(int(40 * rng.paretovariate(1.1)), 5_000_000)


def _delay_seconds(rng: random.Random) -> float:
    # A spike that peaks within the first hour and decays over a day.
    if rng.random() < 0.75:
        return rng.expovariate(1 / 1500)
    return min(math.exp(rng.gauss(math.log(3 * 3600), 0.8)), 24 * 3600)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names], k=1)[0]


def generate(name: str, *, mentions_count: int, seed: int = 1, start: datetime | None = None) -> list[StormMention]:
    """The storm's mentions, oldest first. `start` is the offending post's time (default: the real one)."""
    spec = scenario(name)
    if not 0 <= mentions_count <= MAX_MENTIONS:
        raise ValueError(f"mentions must be between 0 and {MAX_MENTIONS}, got {mentions_count}")
    t0 = as_utc(start) if start is not None else datetime.fromisoformat(spec.historic_start)
    rng = random.Random(f"{name}:{seed}")
    pool_size = max(1, int(mentions_count * 0.6))
    authors = [(_handle(rng), _followers(rng)) for _ in range(pool_size)]
    out: list[StormMention] = []
    for i in range(mentions_count):
        author, followers = authors[int(rng.random() ** 1.5 * pool_size)]  # some people post repeatedly
        tone = _pick(rng, spec.tones)
        dutch = rng.random() < 0.05 and f"nl_{tone}" in spec.templates
        template = rng.choice(spec.templates[f"nl_{tone}" if dutch else tone])
        delay = _delay_seconds(rng)
        text = template.format(
            brand=spec.brand,
            tag=rng.choice(spec.tags) if spec.tags else "",
            emoji=rng.choice(EMOJI),
            n=max(1, int(delay // 60)),
        ).strip()
        out.append(
            StormMention(
                key=f"storm:{name}:{seed}:{i}",
                author=author,
                author_followers=followers,
                text=text,
                created_at=t0 + timedelta(seconds=round(delay, 3)),
                reply=rng.random() < spec.reply_share,
                meta={"scenario": name, "tone": tone, "lang": "nl" if dutch else "en"},
            )
        )
    out.sort(key=lambda m: (m.created_at, m.key))
    return out


def load_storm(
    engine: Engine, name: str, *, mentions_count: int, seed: int = 1, start: datetime | None = None
) -> StormResult:
    """Publish the scenario's offending post (once) and write its storm into the sandbox."""
    spec = scenario(name)
    t0 = as_utc(start) if start is not None else datetime.fromisoformat(spec.historic_start)
    ensure_account(engine, handle=spec.brand, platform=spec.platform, kind="brand", followers=250_000)
    channel = SandboxChannel(engine)
    offending = channel.publish(
        account=spec.brand,
        platform=spec.platform,
        text=spec.offending_text,
        media=spec.offending_media,
        key=f"storm:{name}:{seed}:offending",
        now=t0,
    )
    generated = generate(name, mentions_count=mentions_count, seed=seed, start=t0)

    def work(connection: Connection) -> int:
        prefix = f"storm:{name}:{seed}:"
        have = set(connection.execute(sa.select(mentions.c.key).where(mentions.c.key.startswith(prefix))).scalars())
        rows = [
            {
                "key": m.key,
                "platform": spec.platform,
                "account": spec.brand,
                "author": m.author,
                "author_followers": m.author_followers,
                "text": m.text,
                "in_reply_to": offending.ref if m.reply else None,
                "created_at": m.created_at,
                "meta": m.meta,
            }
            for m in generated
            if m.key not in have
        ]
        for chunk in range(0, len(rows), 5000):
            connection.execute(mentions.insert(), rows[chunk : chunk + 5000])
        return len(rows)

    inserted = write_transaction(engine, work)
    return StormResult(
        scenario=name,
        offending_ref=offending.ref,
        account=spec.brand,
        platform=spec.platform,
        generated=len(generated),
        inserted=inserted,
        first_at=generated[0].created_at if generated else None,
        last_at=generated[-1].created_at if generated else None,
    )
