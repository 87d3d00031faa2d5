"""A storm on the real local atproto network: mentions and replies from several people ingested
exactly once across crashes and restarts (the listening store's cursor and dedupe), and one
personal reply per person, also when the sending worker dies mid-replies and is restarted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runbook.listen.ingest import ingest_channel, read_cursor
from runbook.listen.tables import mentions as stored_mentions
from tests.networks.conftest import bluesky_adapter, environ_for, unique_handle, write_channels

pytestmark = pytest.mark.bluesky
REPO = Path(__file__).parents[2]

SAID = [
    "that reply was disgusting, how did this happen?",
    "please delete that image now",
    "I am never flying with you again",
    "who approved this?",
    "this is so hurtful to see",
    "explain how this got through your checks",
    "unbelievable, do better",
]


def bluesky_brand(handle: str) -> Any:
    from runbook.checks import Policy
    from runbook.messaging.brand import brand_from_policy

    policy = Policy(
        accounts={handle: {"kind": "brand", "platforms": ["bluesky"]}},
        link_checks=False,
        brand={
            "name": "US Airways",
            "values": [{"name": "respect", "words": ["respectful"]}],
            "audience": ["passengers", "customers"],
            "handles": {"bluesky": handle},
        },
    )
    return brand_from_policy(policy)


def _storm(bsky, channel, people: list[str], per_person: int, offending: str) -> int:  # noqa: ANN001
    """Half the people mention the brand, the other half answer its offending post."""
    sent = 0
    for n, person in enumerate(people):
        client = bsky.client(person)
        for k in range(per_person):
            text = SAID[(n + k) % len(SAID)]
            if n % 2:
                bsky.post(person, text, reply_to=offending, client=client)
            else:
                bsky.post(person, text, mention=(channel.handle, channel.did), client=client)
            sent += 1
    return sent


def _wait_for(channel, count: int, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = len(channel.mentions(limit=10_000).items)
        if seen >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"the AppView shows {seen} of {count} mentions after {timeout}s")


def _stored(engine) -> list[tuple[str, str]]:  # noqa: ANN001
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.select(stored_mentions.c.ref, stored_mentions.c.author))]


def test_a_mention_storm_is_ingested_exactly_once_across_crashes_and_restarts(bsky, sqlite_engine) -> None:  # noqa: ANN001
    brand = unique_handle("usairways")
    people = [unique_handle(f"p{n}") for n in range(5)]
    for handle in [brand, *people]:
        bsky.create_account(handle)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    offending = channel.publish(text="the offending reply", key="seed:offending").ref
    total = _storm(bsky, channel, people, 3, offending)
    _wait_for(channel, total)

    first = ingest_channel(
        sqlite_engine, channel, source="bluesky", account=brand, platform="bluesky", page_size=4, max_pages=1
    )
    assert (first.fetched, first.inserted) == (4, 4)

    def crash(connection, items) -> None:  # noqa: ANN001
        raise RuntimeError("power cut between fetch and commit")

    with pytest.raises(RuntimeError, match="power cut"):
        ingest_channel(
            sqlite_engine,
            channel,
            source="bluesky",
            account=brand,
            platform="bluesky",
            page_size=4,
            before_commit=crash,
        )
    assert (
        len(_stored(sqlite_engine)) == 4
        and read_cursor(sqlite_engine, source="bluesky", account=brand, platform="bluesky") == first.cursor
    )

    from runbook.channels import bluesky as module

    module._sessions.clear()  # a restarted process: new login, new adapter, same database
    restarted = bluesky_adapter(bsky, sqlite_engine, brand)
    rest = ingest_channel(sqlite_engine, restarted, source="bluesky", account=brand, platform="bluesky", page_size=4)
    assert rest.inserted == total - 4

    late = [unique_handle("late")]
    bsky.create_account(late[0])
    more = _storm(bsky, restarted, late, 2, offending)
    _wait_for(restarted, total + more)
    again = ingest_channel(sqlite_engine, restarted, source="bluesky", account=brand, platform="bluesky", page_size=4)
    assert again.inserted == more
    assert ingest_channel(sqlite_engine, restarted, source="bluesky", account=brand, platform="bluesky").fetched == 0

    rows = _stored(sqlite_engine)
    assert len(rows) == len({ref for ref, _ in rows}) == total + more  # every one, once
    assert Counter(author for _, author in rows) == {**{p: 3 for p in people}, late[0]: 2}


def test_each_person_gets_one_reply_even_when_the_worker_dies_mid_replies(
    bsky, sqlite_url, sqlite_engine, tmp_path
) -> None:  # noqa: ANN001
    from runbook import audit
    from runbook.steps.reply_individually import KIND
    from tests.messaging.conftest import reply_params, step_context

    brand = unique_handle("usair")
    people = [unique_handle(f"r{n}") for n in range(6)]
    for handle in [brand, *people]:
        bsky.create_account(handle)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    offending = channel.publish(text="the offending reply", key="seed:offending").ref
    total = _storm(bsky, channel, people, 2, offending)
    _wait_for(channel, total)
    ingest_channel(sqlite_engine, channel, source="bluesky", account=brand, platform="bluesky")

    incident = audit.create_incident(
        sqlite_engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={"summary": "offensive image in a reply"},
        requester="ana",
        title="US Airways reply",
    )
    params = reply_params(
        template="replies/social-media-mistake.en.j2",
        template_nl="replies/social-media-mistake.nl.j2",
        rate_limit="1000/1s",
    )
    first = KIND.run(
        step_context(sqlite_engine, incident, "replies", brand=bluesky_brand(brand), channel=channel), params
    )
    assert first.phase == "review" and first.people == len(people)

    channels_file = write_channels(tmp_path, bsky, {"brand": brand})
    env = {**os.environ, "PYTHONPATH": str(REPO), **environ_for(bsky, {"brand": brand})}
    command = [
        sys.executable,
        "-m",
        "tests.networks.bsky_send_proc",
        sqlite_url,
        incident.id,
        str(channels_file),
        brand,
    ]
    died = subprocess.run([*command, "3"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stdout + died.stderr
    replies = [p for p in channel.recent_posts(limit=100) if p.in_reply_to and p.ref != offending]
    assert len(replies) == 3  # on the network, though the worker never recorded the third

    done = subprocess.run([*command, "0"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "finished" in done.stdout, done.stdout + done.stderr

    replies = [p for p in channel.recent_posts(limit=100) if p.in_reply_to and p.ref != offending]
    answered = {m.ref: m.author for m in channel.mentions(limit=1000).items}
    per_person = Counter(answered[p.in_reply_to] for p in replies)
    assert per_person == {p: 1 for p in people}  # everyone answered, nobody twice
    sent = [e for e in audit.events(sqlite_engine, incident.id) if e.action == "reply.sent"]
    assert len(sent) == len(people) == len({e.details["person"] for e in sent})
    out = KIND.run(
        step_context(sqlite_engine, incident, "replies", brand=bluesky_brand(brand), channel=channel), params
    )
    assert out.phase == "done" and out.coverage["sent"] == len(people)
