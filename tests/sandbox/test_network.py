"""The sandbox network keeps one write per idempotency key (also under concurrent writers), marks
deletions instead of removing rows, pages mentions by cursor; the storm is seeded and deterministic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from runbook.ports.channel import Channel, ChannelError
from runbook.sandbox import SandboxChannel, ensure_account, generate, load_storm


def test_publish_is_idempotent_by_key(engine) -> None:  # noqa: ANN001
    channel = SandboxChannel(engine)
    assert isinstance(channel, Channel)
    first = channel.publish(account="brand", platform="x", text="Hello", key="post:1")
    again = channel.publish(account="brand", platform="x", text="Hello (edited)", key="post:1")
    assert first.created and not again.created and again.ref == first.ref
    assert [p["text"] for p in channel.posts()] == ["Hello"]
    assert channel.find("post:1").ref == first.ref and channel.find("post:2") is None


def test_concurrent_writers_with_one_key_write_once(engine) -> None:  # noqa: ANN001
    channel = SandboxChannel(engine)
    with ThreadPoolExecutor(8) as pool:
        receipts = list(
            pool.map(
                lambda n: channel.reply(
                    account="brand", platform="x", to_ref="m1", text=f"Sorry, Elle ({n})", key="reply:elle"
                ),
                range(16),
            )
        )
    assert len({r.ref for r in receipts}) == 1 and sum(r.created for r in receipts) == 1
    assert len(channel.posts()) == 1


def test_delete_marks_and_is_idempotent(engine) -> None:  # noqa: ANN001
    channel = SandboxChannel(engine)
    ref = channel.publish(account="brand", platform="x", text="Oops", key="k").ref
    assert channel.delete(ref, key="delete:k") is True
    assert channel.delete(ref, key="delete:k") is False
    assert channel.posts(include_deleted=False) == [] and channel.posts()[0]["deleted_at"] is not None
    with pytest.raises(ChannelError):
        channel.delete("s999", key="x")


def test_accounts_and_strict_mode(engine) -> None:  # noqa: ANN001
    ensure_account(engine, handle="brand", platform="x", kind="brand", followers=10)
    ensure_account(engine, handle="brand", platform="x", kind="brand", followers=99)  # idempotent
    channel = SandboxChannel(engine, strict_accounts=True)
    assert channel.account("brand", platform="x").followers == 10
    with pytest.raises(ChannelError, match="unknown account"):
        channel.publish(account="ghost", platform="x", text="hi", key="g")


def test_storm_is_deterministic_and_loads_once(engine) -> None:  # noqa: ANN001
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    one = generate("us-airways", mentions_count=500, seed=7, start=start)
    assert one == generate("us-airways", mentions_count=500, seed=7, start=start)
    assert one != generate("us-airways", mentions_count=500, seed=8, start=start)
    assert all(m.created_at >= start for m in one) and one == sorted(one, key=lambda m: (m.created_at, m.key))
    assert len({m.author for m in one}) < 500  # some people post more than once
    assert {m.meta["tone"] for m in one} >= {"angry", "mocking", "concerned"}

    result = load_storm(engine, "us-airways", mentions_count=500, seed=7, start=start)
    assert (
        result.inserted == 500
        and load_storm(engine, "us-airways", mentions_count=500, seed=7, start=start).inserted == 0
    )
    channel = SandboxChannel(engine)
    page = channel.mentions("USAirways", limit=200)
    rest = channel.mentions("USAirways", since=page.cursor, limit=1000)
    assert len(page.items) + len(rest.items) == 500
    replies = [m for m in page.items + rest.items if m.in_reply_to == result.offending_ref]
    assert 0.4 < len(replies) / 500 < 0.8  # most answer the offending post directly
    assert channel.mentions("USAirways", since=rest.cursor).items == []
    offending = channel.posts(account="USAirways")[0]
    assert offending["media"] and offending["text"].startswith("@ElleRAY")


def test_each_scenario_has_its_storm() -> None:
    for name, brand in (("us-airways", "USAirways"), ("red-cross", "RedCross"), ("digiorno", "DiGiorno")):
        storm = generate(name, mentions_count=50, seed=1)
        assert all(f"@{brand}" in m.text or m.reply for m in storm) and len(storm) == 50
    with pytest.raises(ValueError, match="unknown scenario"):
        generate("enron", mentions_count=1)
