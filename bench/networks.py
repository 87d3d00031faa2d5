"""Real-network benchmark: reply throughput per network under its published rate limit, and
mention ingestion per second from the local Bluesky network; prints the figures and writes
bench/results/networks.json. One section per network; each section adds its own keys.

Usage: .venv/bin/python bench/networks.py [--replies N] [--mentions N] [--only bluesky,mastodon]
Bluesky runs the real local atproto network (tests/networks/install.sh, PostgreSQL, Redis);
Mastodon runs mastodon-mock. A network that is not installed is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402
from runbook.db import dispose_engines, init_db, make_engine  # noqa: E402

# Published limits (docs/networks.md): what a brand account may do, per second, at most.
# Bluesky PDS: 5,000 write points per hour per account, a create costs 3 -> 1,666 posts/h.
BLUESKY_POSTS_PER_S = 5000 / 3 / 3600
# Mastodon (default instance config): 300 requests per 5 minutes per account.
MASTODON_REQUESTS_PER_S = 300 / 300


def _engine(tmp: Path):  # noqa: ANN202
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    init_db(engine)
    return engine


def _replies(channel: Any, targets: list[str], prefix: str) -> float:
    """Seconds to send one reply to each target through the adapter (its Guard, limiter, ledger)."""
    began = time.perf_counter()
    for n, ref in enumerate(targets):
        channel.reply(to_ref=ref, text=f"We are sorry, and we are fixing it. ({n})", key=f"{prefix}:{n}")
    return time.perf_counter() - began


# -- Bluesky ----------------------------------------------------------------------------------------
def bench_bluesky(tmp: Path, replies: int, mentions: int) -> dict[str, Any]:
    from runbook.listen.ingest import ingest_channel
    from tests.networks import localbsky
    from tests.networks.conftest import bluesky_adapter, unique_handle

    problem = localbsky.missing()
    if problem:
        return {"skipped": problem}
    began = time.perf_counter()
    net = localbsky.start(tmp)
    out: dict[str, Any] = {"network_start_s": round(time.perf_counter() - began, 1)}
    try:
        engine = _engine(tmp)
        brand = unique_handle("bench")
        people = [unique_handle(f"fan{n}") for n in range(5)]
        for handle in [brand, *people]:
            net.create_account(handle)
        channel = bluesky_adapter(net, engine, brand)
        clients = {p: net.client(p) for p in people}
        began = time.perf_counter()
        posted = [
            net.post(
                people[n % len(people)],
                f"what happened? {n}",
                mention=(brand, channel.did),
                client=clients[people[n % len(people)]],
            ).uri
            for n in range(mentions)
        ]
        out["mentions_posted_per_s"] = round(mentions / (time.perf_counter() - began), 1)
        deadline = time.monotonic() + 60
        while len(channel.mentions(limit=100_000).items) < mentions and time.monotonic() < deadline:
            time.sleep(0.5)
        began = time.perf_counter()
        result = ingest_channel(engine, channel, source="bluesky", account=brand, platform="bluesky", page_size=100)
        seconds = time.perf_counter() - began
        out["mentions_ingested"] = result.inserted
        out["mention_ingest_per_s"] = round(result.inserted / seconds, 1)

        seconds = _replies(channel, posted[:replies], "bench-reply")
        raw = replies / seconds
        out["reply_raw_per_s"] = round(raw, 1)
        out["reply_published_limit_per_s"] = round(BLUESKY_POSTS_PER_S, 3)
        out["reply_under_limit_per_s"] = round(min(raw, BLUESKY_POSTS_PER_S), 3)
        out["minutes_to_answer_1000_people_under_limit"] = round(1000 / min(raw, BLUESKY_POSTS_PER_S) / 60, 1)
    finally:
        net.stop()
        dispose_engines()
    return out


# -- Mastodon ---------------------------------------------------------------------------------------
def bench_mastodon(tmp: Path, replies: int) -> dict[str, Any]:
    try:
        from mastodon_mock.config import SeedAccount, SeedConfig
        from mastodon_mock.testing.server import MockServer
    except ImportError:
        return {"skipped": "mastodon-mock is not installed (pip install '.[test]')"}
    from runbook.channels.config import parse_channels_config
    from runbook.channels.registry import build_adapter

    seed = SeedConfig(
        accounts=[
            SeedAccount(username="brand", access_token="bench-brand"),
            SeedAccount(username="fan", access_token="bench-fan"),
        ]
    )
    out: dict[str, Any] = {}
    with MockServer(seed=seed) as server:
        engine = _engine(tmp)
        raw = (
            f'brands: {{b: {{name: Bench}}}}\nchannels: {{m: {{platform: mastodon, service: "{server.base_url}"}}}}'
            "\naccounts: {brand: {brand: b, channel: m, handle: brand, token_env: T}}\n"
        ).encode()
        channel = build_adapter(
            parse_channels_config(raw, "bench"), "brand", engine=engine, environ={"T": "bench-brand"}
        )
        fan = server.client("fan")
        targets = [channel._ref(fan.status_post(f"@brand why? {n}")["id"]) for n in range(replies)]
        seconds = _replies(channel, targets, "bench-masto")
        raw_rate = replies / seconds
        out["reply_raw_per_s"] = round(raw_rate, 1)
        out["reply_published_limit_per_s"] = MASTODON_REQUESTS_PER_S
        out["reply_under_limit_per_s"] = round(min(raw_rate, MASTODON_REQUESTS_PER_S), 3)
        dispose_engines()
    return out


# -- X, Meta, remote queues: see the sections w12b adds below ---------------------------------------------
# X API v2: POST /2/tweets allows 100 requests per 15 minutes per user (replies are posts).
X_POSTS_PER_S = 100 / 900
# Graph API Pages: 4,800 calls x engaged users per 24 h per Page (business use case limit).
META_ENGAGED_USERS = 100
META_CALLS_PER_S = 4800 * META_ENGAGED_USERS / 86400
# Buffer: 60 requests per minute per user; a hold is one destroy (two calls when due within 30 s).
BUFFER_REQUESTS_PER_S = 60 / 60


def bench_x(tmp: Path, replies: int) -> dict[str, Any]:
    from runbook.channels.config import parse_channels_config
    from runbook.channels.x import XChannel
    from tests.networks.fakes.x_api import FakeX

    out: dict[str, Any] = {}
    with FakeX(users={"bench-x": "brand"}, enforce_limits=False) as fake:
        fake.add_user("fan")
        engine = _engine(tmp)
        raw = (
            f'brands: {{b: {{name: Bench}}}}\nchannels: {{x: {{platform: x, service: "{fake.url}"}}}}'
            "\naccounts: {brand: {brand: b, channel: x, handle: brand, token_env: T}}\n"
        ).encode()
        import os

        os.environ["T"] = "bench-x"
        channel = XChannel.from_config("brand", parse_channels_config(raw, "bench"), engine=engine)
        targets = [fake.add_post("fan", f"@brand why? {n}") for n in range(replies)]
        seconds = _replies(channel, targets, "bench-x")
        rate = replies / seconds
        out["reply_raw_per_s"] = round(rate, 1)
        out["reply_published_limit_per_s"] = round(X_POSTS_PER_S, 3)
        out["reply_under_limit_per_s"] = round(min(rate, X_POSTS_PER_S), 3)
        out["minutes_to_answer_1000_people_under_limit"] = round(1000 / min(rate, X_POSTS_PER_S) / 60, 1)
        out["invalid_fake_bodies"] = len(fake.invalid)
        dispose_engines()
    return out


def bench_meta(tmp: Path, replies: int) -> dict[str, Any]:
    from runbook.channels.config import parse_channels_config
    from runbook.channels.meta import MetaChannel
    from tests.networks.fakes.graph_api import FakeGraph

    out: dict[str, Any] = {}
    with FakeGraph(page_token="bench-meta") as fake:
        engine = _engine(tmp)
        raw = (
            f'brands: {{b: {{name: Bench}}}}\nchannels: {{fb: {{platform: facebook, service: "{fake.url}"}}}}'
            "\naccounts: {brand: {brand: b, channel: fb, handle: acme, token_env: T, options: {page_id: '101'}}}\n"
        )
        import os

        os.environ["T"] = "bench-meta"
        channel = MetaChannel.from_config("brand", parse_channels_config(raw.encode(), "bench"), engine=engine)
        post = fake.add_published("Our statement")
        targets = [fake.add_comment(post, f"Fan {n}", f"why? {n}") for n in range(replies)]
        seconds = _replies(channel, targets, "bench-meta")
        rate = replies / seconds
        out["reply_raw_per_s"] = round(rate, 1)
        out["reply_published_limit_per_s"] = round(META_CALLS_PER_S, 2)
        out["published_limit_basis"] = f"4800 calls x {META_ENGAGED_USERS} engaged users / 24 h"
        out["reply_under_limit_per_s"] = round(min(rate, META_CALLS_PER_S), 2)
        dispose_engines()
    return out


def bench_remote(tmp: Path, posts: int) -> dict[str, Any]:
    """Freeze-to-last-remote-post-held for `posts` remote scheduled posts (Buffer, then a Page)."""
    from runbook.channels.buffer import BufferQueue
    from runbook.channels.meta import MetaScheduledQueue
    from runbook.queue.remote import freeze_everything
    from tests.networks.fakes.buffer_api import FakeBuffer
    from tests.networks.fakes.graph_api import VERSION, FakeGraph

    out: dict[str, Any] = {"posts": posts}
    later = time.time() + 6 * 3600
    with FakeBuffer(token="bench-buffer") as buffer:
        profiles = {buffer.add_profile("twitter", f"brand{n}"): f"brand{n}" for n in range(4)}
        for n in range(posts):
            buffer.add_update(list(profiles)[n % 4], f"Scheduled post {n}", later + n)
        queue = BufferQueue("buffer", token="bench-buffer", profiles=profiles, base_url=buffer.url, rate_limit=None)
        out["buffer"] = _remote_freeze(tmp / "buffer", freeze_everything, queue)
        calls = buffer.count("GET") + buffer.count("POST")
        out["buffer"]["calls"] = calls
        out["buffer"]["minutes_under_published_limit"] = round(calls / BUFFER_REQUESTS_PER_S / 60, 1)
        assert buffer.pending() == []
    with FakeGraph(page_token="bench-meta") as graph:
        for n in range(posts):
            graph.add_scheduled(f"Scheduled post {n}", later + n)
        queue = MetaScheduledQueue(
            "page", page_id="101", account="acme", token="bench-meta", base_url=graph.url, version=VERSION
        )
        out["meta"] = _remote_freeze(tmp / "meta", freeze_everything, queue)
        out["meta"]["calls"] = graph.count("GET") + graph.count("DELETE")
        assert graph.scheduled() == []
    return out


def _remote_freeze(tmp: Path, freeze_everything: Any, queue: Any) -> dict[str, Any]:
    tmp.mkdir()
    engine = _engine(tmp)
    local, remote = freeze_everything(engine, remote=[queue], incident_id=None, actor="bench", channel="cli")
    dispose_engines()
    return {
        "local_commit_ms": local.commit_ms,
        "last_remote_held_ms": remote.last_held_ms,
        "held": remote.held,
        "errors": len(remote.errors),
    }


SECTIONS = {
    "bluesky": lambda tmp, a: bench_bluesky(tmp, a.replies, a.mentions),
    "mastodon": lambda tmp, a: bench_mastodon(tmp, a.replies),
}
SECTIONS.update(
    {
        "x": lambda tmp, a: bench_x(tmp, a.replies),
        "meta": lambda tmp, a: bench_meta(tmp, a.replies),
        "remote": lambda tmp, a: bench_remote(tmp, a.remote_posts),
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=50)
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--remote-posts", type=int, default=1000, help="remote scheduled posts the freeze holds")
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": platform.node(),
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "replies": args.replies,
        "mentions": args.mentions,
    }
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            results[name] = SECTIONS[name](Path(tmp), args)
        print(f"{name}: {json.dumps(results[name])}")
    out = ROOT / "bench" / "results" / "networks.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    write_results(out, {**previous, **results})  # other sections' figures stay


if __name__ == "__main__":
    main()
