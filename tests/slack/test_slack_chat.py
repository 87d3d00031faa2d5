"""Outbound limits measured at the fake: one message per second per channel, channels independent,
429 Retry-After honoured (slack_sdk's retry handler, then the channel rests); and SlackChat posting
once per key, deferring to the relay while an incident has no war room."""

from __future__ import annotations

import threading
import time

from pydantic import SecretStr

from runbook.audit import create_incident, events, update_incident
from runbook.ports.chat import Chat
from runbook.settings import Settings
from runbook.slack.chat import Outbox, SlackChat
from runbook.slack.client import make_client


def client_for(fake):
    return make_client(Settings(slack_bot_token=SecretStr(fake.token), slack_api_url=fake.api_url))


def gaps(calls) -> list[float]:
    times = [c.at for c in calls]
    return [b - a for a, b in zip(times, times[1:])]


def test_one_message_per_second_per_channel_in_order(fake):
    fake.strict_rate = True  # the fake answers 429 to anything faster, like Slack
    outbox = Outbox(client_for(fake))
    threads = [threading.Thread(target=outbox.post, args=("C1",), kwargs={"text": f"m{n}"}) for n in range(4)]
    threads += [threading.Thread(target=outbox.post, args=("C2",), kwargs={"text": f"other{n}"}) for n in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
        time.sleep(0.01)  # a stable arrival order at the queue
    for t in threads:
        t.join()
    c1 = fake.posts("C1")
    assert [c.params["text"] for c in c1] == ["m0", "m1", "m2", "m3"]  # first come, first served
    assert all(g >= 0.99 for g in gaps(c1)), gaps(c1)
    assert all(c.status == 200 for c in fake.of("chat.postMessage"))  # never rate limited
    # The other channel is not held up by the first one's queue.
    c2 = fake.posts("C2")
    assert c2[0].at - started < 0.5


def test_429_retry_after_is_honoured_and_the_message_goes_out_once(fake):
    outbox = Outbox(client_for(fake))
    fake.rate_limit_next("chat.postMessage", retry_after=2)
    started = time.monotonic()
    response = outbox.post("C9", text="after the limit")
    assert response["ok"]
    attempts = fake.of("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 2.0  # Retry-After (plus slack_sdk's jitter)
    assert len(fake.posts("C9")) == 1
    # A 429 that outlasts slack_sdk's retries (none here) leaves the channel resting for its Retry-After.
    from slack_sdk import WebClient

    outbox = Outbox(WebClient(token=fake.token, base_url=fake.api_url, retry_handlers=[]))
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    try:
        outbox.post("C9", text="gives up")
    except Exception as exc:  # noqa: BLE001
        assert "ratelimited" in str(exc)
    else:
        raise AssertionError("expected the rate limit to surface")
    resting_from = time.monotonic()
    outbox.post("C9", text="after resting")
    assert time.monotonic() - resting_from >= 0.9
    assert time.monotonic() - started < 20


def test_edits_have_their_own_lane(fake):
    outbox = Outbox(client_for(fake))
    first = outbox.post("C3", text="status")
    began = time.monotonic()
    outbox.update("C3", first["ts"], text="status 2")
    assert time.monotonic() - began < 0.5  # not queued behind the post a moment ago


def test_slack_chat_posts_once_per_key_and_records_it(fake, offline_services):
    db = offline_services.db
    incident = create_incident(
        db, playbook_id="s-respond", playbook_version=1, inputs={}, requester="ana", title="chat test"
    )
    outbox = Outbox(client_for(fake), interval=0.01)
    chat = SlackChat(outbox=outbox, db=db, incident_id=incident.id)
    assert isinstance(chat, Chat)
    # No war room yet: recorded undelivered, for the relay to post once the room exists.
    pending = chat.post(None, "before the room <b> & co", key="k1")
    assert pending == "pending:k1" and not fake.posts()
    assert chat.post(None, "again", key="k1") == "pending:k1"
    update_incident(db, incident.id, channel="C00000042")
    ref = chat.post(None, "in the room <b> & co", key="k2")
    assert ref.startswith("slack:C00000042:")
    assert chat.post("C00000042", "in the room", key="k2") == ref  # a retried task: same message
    posts = fake.posts("C00000042")
    assert len(posts) == 1 and posts[0].params["text"] == "in the room &lt;b&gt; &amp; co"
    recorded = [e for e in events(db, incident.id) if e.action == "chat.posted"]
    assert [(e.details["key"], "slack" in e.details) for e in recorded] == [("k1", False), ("k2", True)]
    assert recorded[1].channel == "slack"


def test_chat_factory_plugs_slack_into_the_engine_services(fake, offline_services):
    from runbook.engine.services import Services
    from runbook.slack import chat_factory

    settings = Settings(slack_bot_token=SecretStr(fake.token), slack_api_url=fake.api_url)
    services = Services(
        settings=offline_services.settings,
        db=offline_services.db,
        kinds=offline_services.kinds,
        chat_factory=chat_factory(settings),
    )
    incident = create_incident(
        services.db,
        playbook_id="s-respond",
        playbook_version=1,
        inputs={},
        requester="ana",
        title="factory",
        channel="C00000077",
    )
    chat = services.chat(incident.id)
    assert isinstance(chat, SlackChat)
    assert chat.post(None, "from a worker", key="w1").startswith("slack:C00000077:")
    assert [c.params["text"] for c in fake.posts("C00000077")] == ["from a worker"]
