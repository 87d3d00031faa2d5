"""The X adapter against the local fake X API (bodies checked against xdk's models): writes once
per key, limits before sending, mentions across pages, and the good-citizen layer under 429 with
Retry-After, 5xx, lost answers, timeouts and a dead service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from runbook.channels.config import parse_channels_config
from runbook.channels.resilience import reset_limiters
from runbook.channels.x import XChannel, weighted_length
from runbook.ports.channel import ChannelUnavailable, RejectedByLimits
from tests.networks.fakes.base import Fault
from tests.networks.fakes.x_api import FakeX, check, xdk_models

TOKEN = "x-SECRET-user-token-91c2"

CONFIG = """\
brands: {acme: {name: Acme}}
channels:
  x: {platform: x, service: "%s", tuning: {timeout: %s, budget: 20, attempts: 4, breaker_failures: 3, breaker_reset: 60}}
accounts:
  acme-x: {brand: acme, channel: x, handle: acme, token_env: TEST_X_TOKEN}
"""


@pytest.fixture
def fake() -> Iterator[FakeX]:
    reset_limiters()
    with FakeX(users={TOKEN: "acme"}) as server:
        for name in ("ana", "bo", "cy"):
            server.add_user(name, followers=5)
        yield server
    reset_limiters()
    assert server.invalid == [], server.invalid  # every body the fake sent matched xdk's models


def _channel(fake: FakeX, monkeypatch, engine=None, timeout: float = 2.0) -> XChannel:  # noqa: ANN001
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    config = parse_channels_config((CONFIG % (fake.url, timeout)).encode(), "channels.yaml")
    return XChannel.from_config("acme-x", config, engine=engine)


def test_publish_reply_delete_and_fetch(fake, monkeypatch, sqlite_engine) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch, sqlite_engine)
    first = x.publish(
        account="acme-x",
        text="We are sorry. Here is what we are changing.",
        key="stmt:1",
        reply_settings="mentionedUsers",
        media=[{"media_id": "1455952740635586573"}],
    )
    again = x.publish(account="acme-x", text="We are sorry. Here is what we are changing.", key="stmt:1")
    assert first.created and not again.created and again.ref == first.ref
    assert fake.count("POST", "/2/tweets") == 1
    stored = fake.posts[first.ref]
    assert stored["reply_settings"] == "mentionedUsers" and stored["attachments"] == {
        "media_keys": ["3_1455952740635586573"]
    }

    complaint = fake.add_post("ana", "@acme this reply was offensive")
    answer = x.reply(account="acme-x", to_ref=complaint, text="@ana You are right, and we are sorry.", key="reply:ana")
    post = x.get_post(answer.ref)
    assert post["live"] and post["in_reply_to"] == complaint and post["text"].startswith("@ana")
    assert [p.ref for p in x.recent_posts(limit=10)] == [answer.ref, first.ref]
    assert x.find("reply:ana").ref == answer.ref and x.owns(answer.ref)

    assert x.delete(first.ref, key="del:1") is True
    assert x.delete(first.ref, key="del:1") is False
    assert x.get_post(first.ref)["live"] is False  # ours, gone
    assert x.get_post("1") is None  # never ours, unknown to X
    assert x.account("ana").followers == 5 and x.account("nobody") is None


def test_limits_are_reported_before_anything_is_sent(fake, monkeypatch) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch)
    assert weighted_length("a" * 280) == 280 and weighted_length("日" * 141) == 282
    assert weighted_length("see https://example.com/" + "a" * 200 + " ok") == 4 + 23 + 3
    for text, media, expected in [
        ("a" * 281, None, "281 weighted characters over the limit of 280"),
        ("日本" * 71, None, "284 weighted characters"),
        ("ok", [{"media_id": str(n)} for n in range(5)], "5 media over the limit of 4"),
        ("ok", [{"path": "cat.png"}], "no media_id"),
    ]:
        with pytest.raises(RejectedByLimits) as caught:
            x.publish(account="acme-x", text=text, media=media, key=f"k{len(text)}")
        assert expected in str(caught.value)
    with pytest.raises(RejectedByLimits, match="reply_settings"):
        x.publish(account="acme-x", text="hi", key="k", reply_settings="everyone")
    assert fake.count("POST", "/2/tweets") == 0
    assert x.limits().max_chars == 280 and x.limits().max_media == 4


def test_mentions_every_page_oldest_first_and_cursor_resumes(fake, monkeypatch) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch)
    refs = [fake.add_post(("ana", "bo", "cy")[n % 3], f"@acme complaint number {n}") for n in range(250)]
    fake.add_post("bo", "not about the brand")
    fake.page_cap = 37  # partial pages: fewer than asked, with a next_token
    seen: list[str] = []
    cursor = None
    for expected in (100, 100, 50, 0):
        page = x.mentions("acme", since=cursor, limit=100)
        assert len(page.items) == expected
        seen += [m.ref for m in page.items]
        cursor = page.cursor
    assert seen == refs  # all of them, once, oldest first, across partial pages
    assert {m.author for m in x.mentions("acme", limit=3).items} == {"ana", "bo", "cy"}
    assert x.mentions("acme", since=refs[-1]).cursor == refs[-1]  # nothing new keeps the cursor


def test_429_with_retry_after_is_honoured_and_posts_once(fake, monkeypatch) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch)
    reset = str(int(time.time()) + 900)
    fake.fail(
        Fault(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
            {
                "retry-after": "1",
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": reset,
            },
            match="POST /2/tweets",
        )
    )
    began = time.monotonic()
    receipt = x.publish(account="acme-x", text="Statement after a 429", key="k429")
    assert time.monotonic() - began >= 0.95  # waited as told, not the 15-minute reset
    assert receipt.created and fake.count("POST", "/2/tweets") == 2 and len(fake.posts) == 1
    assert x.guard.limiter.headroom.limit == 100  # the headers of the last answer

    # Without Retry-After, the x-rate-limit-reset of a spent window says when to try again.
    fake.fail(
        Fault(
            429,
            {"title": "Too Many Requests", "type": "about:blank", "status": 429},
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + 2),
            },
            match="POST /2/tweets",
        )
    )
    began = time.monotonic()
    assert x.publish(account="acme-x", text="Statement after a spent window", key="k429b").created
    assert time.monotonic() - began >= 1.0 and len(fake.posts) == 2


def test_the_fake_enforces_xs_published_window(monkeypatch) -> None:  # noqa: ANN001
    reset_limiters()
    with FakeX(users={TOKEN: "acme"}) as fake:
        x = _channel(fake, monkeypatch)
        fake.windows[(fake.by_name["acme"], "POST /2/tweets")] = [time.time() - 900 + 1.5, 99]
        x.publish(account="acme-x", text="the 100th post of the window", key="w1")
        assert x.guard.limiter.headroom.remaining == 0
        began = time.monotonic()
        x.publish(account="acme-x", text="the first of the next window", key="w2")  # waits for the reset
        assert time.monotonic() - began >= 0.4 and len(fake.posts) == 2
        assert fake.count("POST", "/2/tweets") == 2  # the limiter waited: no 429 was provoked
    reset_limiters()


def test_5xx_and_lost_answers_and_timeouts_never_post_twice(fake, monkeypatch, sqlite_engine) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch, sqlite_engine, timeout=0.5)
    fake.fail(Fault(503, {"title": "Service Unavailable"}, match="POST /2/tweets"))
    assert x.publish(account="acme-x", text="after a 503", key="a").created
    # X did the write but the answer was a 500: the retry finds the post instead of posting again.
    fake.fail(Fault(500, {"title": "Internal Error"}, match="POST /2/tweets", apply=True))
    lost = x.publish(account="acme-x", text="answer lost", key="b")
    # The answer takes longer than the client's timeout; X wrote it meanwhile.
    fake.fail(Fault(stall=0.8, match="POST /2/tweets"))
    slow = x.publish(account="acme-x", text="answer too slow", key="c")
    texts = sorted(p["text"] for p in fake.posts.values())
    assert texts == ["after a 503", "answer lost", "answer too slow"]
    assert fake.posts[lost.ref]["text"] == "answer lost" and fake.posts[slow.ref]["text"] == "answer too slow"
    assert x.guard.retries >= 3


def test_a_dead_service_opens_the_circuit_instead_of_hanging(fake, monkeypatch) -> None:  # noqa: ANN001
    x = _channel(fake, monkeypatch, timeout=0.3)
    x.guard.policy = replace(x.guard.policy, backoff=0.01)  # the same retries, without the waits
    fake.fail(*[Fault(503, {"title": "Service Unavailable"}) for _ in range(12)])
    for _ in range(3):
        with pytest.raises(ChannelUnavailable, match="failed after 4 attempt"):
            x.mentions("acme")
    began = time.monotonic()
    with pytest.raises(ChannelUnavailable, match="circuit open"):
        x.mentions("acme")
    assert time.monotonic() - began < 0.1


def test_the_token_never_shows(fake, monkeypatch, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    x = _channel(fake, monkeypatch)
    fake.tokens.clear()  # the token stops working: 401
    with pytest.raises(Exception) as caught:
        x.publish(account="acme-x", text="hello", key="s")
    check_result = x.check()
    outputs = [str(caught.value), repr(caught.value), repr(x), str(check_result.to_dict()), caplog.text]
    assert not check_result.ok and "401" in check_result.problems[0]
    assert all(TOKEN not in text for text in outputs)


def test_the_fakes_bodies_are_checked_for_real() -> None:
    models = xdk_models()
    assert check(models["create"], {"data": {"id": "1", "text": "t", "edit_history_post_ids": ["1"]}}) == []
    assert check(models["create"], {"data": {"id": 1}})  # wrong type, missing text
    assert check(models["mentions"], {"data": [{"id": "1", "text": "t", "colour": "red"}]}) == [
        "data[0].colour: not declared by GetUsersMentionsResponse"
    ]


def test_mentions_go_through_the_ingestion_cursor_exactly_once(fake, monkeypatch, sqlite_engine) -> None:  # noqa: ANN001
    from runbook.listen.ingest import ingest_channel

    x = _channel(fake, monkeypatch, sqlite_engine)
    for n in range(130):
        fake.add_post(("ana", "bo")[n % 2], f"@acme what happened? {n}")
    first = ingest_channel(sqlite_engine, x, source="x", account="acme", platform="x", page_size=50)
    for n in range(7):
        fake.add_post("cy", f"@acme still waiting {n}")
    second = ingest_channel(sqlite_engine, x, source="x", account="acme", platform="x", page_size=50)
    third = ingest_channel(sqlite_engine, x, source="x", account="acme", platform="x", page_size=50)
    assert (first.inserted, second.inserted, third.inserted) == (130, 7, 0)
