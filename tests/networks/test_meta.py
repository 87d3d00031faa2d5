"""The Meta adapter against the local fake Graph API: Page posts, comments as mentions, replies
to comments, delete and fetch; Instagram publish through a container; Graph's error format and
throttling codes; the Page's scheduled posts as a RemoteQueue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from runbook.channels.config import parse_channels_config
from runbook.channels.meta import GraphError, MetaChannel, MetaScheduledQueue, usage
from runbook.channels.resilience import reset_limiters
from runbook.ports.channel import ChannelUnavailable, RejectedByLimits
from runbook.ports.remote_queue import RemoteQueueError
from tests.networks.fakes.base import Fault
from tests.networks.fakes.graph_api import VERSION, FakeGraph

TOKEN = "EAAB-SECRET-page-token-55d1"

CONFIG = """\
brands: {acme: {name: Acme}}
channels:
  fb: {platform: facebook, service: "%(url)s", tuning: {timeout: 2, budget: 5, attempts: 3}}
  ig: {platform: instagram, service: "%(url)s", tuning: {timeout: 2, budget: 5, attempts: 3}}
accounts:
  acme-fb: {brand: acme, channel: fb, handle: acme, token_env: TEST_META_TOKEN, options: {page_id: "101"}}
  acme-ig: {brand: acme, channel: ig, handle: acme, token_env: TEST_META_TOKEN, options: {ig_user_id: "178414"}}
"""


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    reset_limiters()
    with FakeGraph(page_token=TOKEN) as server:
        yield server
    reset_limiters()


def _channel(fake: FakeGraph, monkeypatch, account: str = "acme-fb", engine=None) -> MetaChannel:  # noqa: ANN001
    monkeypatch.setenv("TEST_META_TOKEN", TOKEN)
    config = parse_channels_config((CONFIG % {"url": fake.url}).encode(), "channels.yaml")
    channel = MetaChannel.from_config(account, config, engine=engine)
    channel.guard.policy = replace(channel.guard.policy, backoff=0.01)
    return channel


def test_page_posts_comments_replies_delete(fake, monkeypatch, sqlite_engine) -> None:  # noqa: ANN001
    fb = _channel(fake, monkeypatch, engine=sqlite_engine)
    statement = fb.publish(account="acme-fb", text="We got this wrong. Here is what changes.", key="stmt")
    assert statement.created and not fb.publish(account="acme-fb", text="ignored", key="stmt").created
    assert fake.objects[statement.ref]["message"] == "We got this wrong. Here is what changes."
    comments = [
        fake.add_comment(statement.ref, name, f"comment {n} from {name}")
        for n, name in enumerate(["Ana", "Bo", "Cy", "Ana"])
    ]
    nested = fake.add_comment(comments[0], "Dee", "replying to Ana")
    page = fb.mentions("acme", limit=3)
    assert [m.ref for m in page.items] == comments[:3]
    rest = fb.mentions("acme", since=page.cursor)
    assert [m.ref for m in rest.items] == [comments[3], nested]
    assert rest.items[1].in_reply_to == comments[0] and rest.items[0].author == "Ana"

    answer = fb.reply(account="acme-fb", to_ref=comments[1], text="Bo, we are sorry.", key="reply:bo")
    assert fake.objects[answer.ref]["on"] == comments[1]
    assert fb.reply(account="acme-fb", to_ref=comments[1], text="Bo, we are sorry.", key="reply:bo").ref == answer.ref
    assert fb.mentions("acme", since=rest.cursor).items == []  # our own reply is no mention

    post = fb.get_post(statement.ref)
    assert post["live"] and post["meta"]["is_published"] is True and post["url"].startswith("https://www.facebook.com/")
    assert [p.ref for p in fb.recent_posts(limit=5)] == [statement.ref]
    assert fb.delete(statement.ref, key="del") is True and fb.delete(statement.ref, key="del") is False
    assert fb.get_post(statement.ref)["live"] is False
    assert fb.account("acme").kind == "brand" and fb.account("someone") is None


def test_instagram_publish_comments_and_limits(fake, monkeypatch) -> None:  # noqa: ANN001
    ig = _channel(fake, monkeypatch, "acme-ig")
    with pytest.raises(RejectedByLimits, match="needs an image"):
        ig.publish(account="acme-ig", text="no picture", key="k0")
    with pytest.raises(RejectedByLimits, match="2201 chars over the limit of 2200"):
        ig.publish(account="acme-ig", text="a" * 2201, media=[{"image_url": "https://cdn/x.jpg"}], key="k1")
    media = ig.publish(account="acme-ig", text="Our apology", media=[{"image_url": "https://cdn/a.jpg"}], key="k2")
    assert fake.objects[media.ref]["kind"] == "ig_media" and fake.objects[media.ref]["caption"] == "Our apology"
    comment = fake.add_comment(media.ref, "ana_b", "this is not enough")
    (mention,) = ig.mentions("acme").items
    assert mention.ref == comment and mention.author == "ana_b" and mention.text == "this is not enough"
    reply = ig.reply(account="acme-ig", to_ref=comment, text="@ana_b we hear you", key="r")
    assert fake.objects[reply.ref]["on"] == comment
    with pytest.raises(Exception, match="cannot delete published media"):
        ig.delete(media.ref, key="d")


def test_graph_errors_and_throttling_codes(fake, monkeypatch) -> None:  # noqa: ANN001
    fb = _channel(fake, monkeypatch)
    with pytest.raises(GraphError) as caught:
        fb.graph.call("get", "GET", "101_404")
    assert caught.value.missing and "fbtrace_id" in str(caught.value)
    # A throttling code on HTTP 400 is retried after the time Meta gives, not raised as a refusal.
    fake.fail(
        Fault(
            400,
            {
                "error": {
                    "message": "(#32) Page request limit reached",
                    "type": "OAuthException",
                    "code": 32,
                    "fbtrace_id": "Aabc",
                }
            },
            {"retry-after": "0.2"},
        )
    )
    began = time.monotonic()
    assert fb.recent_posts() == []
    assert time.monotonic() - began >= 0.2 and fb.guard.retries == 1
    # Transient code 2 on HTTP 500 is retried too.
    fake.fail(
        Fault(
            500,
            {
                "error": {
                    "message": "Service temporarily unavailable",
                    "type": "OAuthException",
                    "code": 2,
                    "is_transient": True,
                    "fbtrace_id": "Adef",
                }
            },
        )
    )
    assert fb.recent_posts() == [] and fb.guard.retries == 2
    # A Page throttled for longer than the call's budget is reported, not waited for.
    fake.throttle_code = 4
    with pytest.raises(ChannelUnavailable, match="request limit"):
        fb.recent_posts()
    fake.throttle_code = None
    assert fb.guard.limiter.delay() > 50  # the account waits out Meta's minute before its next call
    fb.guard.limiter.blocked_until = 0  # (the test does not)
    headroom = usage(
        {
            "x-app-usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
            "x-business-use-case-usage": '{"101":[{"type":"pages","call_count":40,"total_cputime":5,'
            '"total_time":5,"estimated_time_to_regain_access":0}]}',
        }
    )
    assert headroom.remaining == 60 and headroom.limit == 100
    check = fb.check()
    assert check.ok and check.identity == "acme (101)" and check.headroom is not None
    assert TOKEN not in str(check.to_dict()) and TOKEN not in repr(fb) and TOKEN not in repr(fb.graph)


def test_scheduled_posts_queue_lists_holds_and_restores(fake) -> None:  # noqa: ANN001
    queue = MetaScheduledQueue(
        "meta-acme", page_id="101", account="acme", token=TOKEN, base_url=fake.url, version=VERSION
    )
    later = time.time() + 3600
    ids = [fake.add_scheduled(f"Autumn teaser {n}", later + n * 60) for n in range(130)]  # two pages
    listed = queue.scheduled()
    assert [p.remote_id for p in listed] == ids and listed[0].run_at == datetime.fromtimestamp(int(later), UTC)
    assert queue.hold(listed[0]) == "held" and queue.hold(listed[0]) == "absent"
    assert fake.deleted == [ids[0]]
    new_id, at = queue.restore(listed[0], run_at=listed[0].run_at, key="k")
    assert fake.objects[new_id]["scheduled_publish_time"] == int(later) and at == listed[0].run_at
    assert queue.find_restored(listed[0], run_at=listed[0].run_at) == (new_id, listed[0].run_at)
    # Sooner than the 10 minutes the Pages API accepts: the earliest time it takes.
    soon = datetime.now(UTC) + timedelta(minutes=2)
    _, at = queue.restore(listed[1], run_at=soon, key="k2")
    assert at >= datetime.now(UTC) + timedelta(minutes=10)
    fake.add_published("already out")
    gone = replace(listed[2], run_at=datetime.now(UTC))
    fake.objects[ids[2]]["is_published"] = True
    assert queue.hold(gone) == "published" and ids[2] in fake.objects  # not deleted: it is out
    bad = MetaScheduledQueue(
        "meta-acme", page_id="101", account="acme", token="wrong", base_url=fake.url, version=VERSION
    )
    with pytest.raises(RemoteQueueError, match="Invalid OAuth access token") as caught:
        bad.scheduled()
    assert TOKEN not in str(caught.value)


def test_page_comments_go_through_the_ingestion_cursor_exactly_once(fake, monkeypatch, sqlite_engine) -> None:  # noqa: ANN001
    from runbook.listen.ingest import ingest_channel

    fb = _channel(fake, monkeypatch, engine=sqlite_engine)
    posts = [fake.add_published(f"post {n}") for n in range(3)]
    for n in range(60):
        fake.add_comment(posts[n % 3], f"Fan {n % 7}", f"why? {n}")
    first = ingest_channel(sqlite_engine, fb, source="facebook", account="acme", platform="facebook", page_size=25)
    fake.add_comment(posts[0], "Late", "and now?")
    second = ingest_channel(sqlite_engine, fb, source="facebook", account="acme", platform="facebook", page_size=25)
    assert (first.inserted, second.inserted) == (60, 1)
