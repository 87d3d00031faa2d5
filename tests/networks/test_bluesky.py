"""The Bluesky adapter against the real local atproto network (PLC + PDS + AppView from the atproto
team's @atproto/dev-env): statements with facets and threads, idempotent writes, limits refused
before sending, live state, own recent posts, and the offending post deleted once."""

from __future__ import annotations

import time

import pytest

from runbook.ports.channel import ChannelReads, RejectedByLimits
from tests.networks.conftest import bluesky_adapter, unique_handle

pytestmark = pytest.mark.bluesky

STATEMENT = (
    "Earlier today we replied to a customer with an inappropriate image. We are deeply sorry. "
    "The image was shared by mistake while we flagged it for our team; we removed it at once. "
    "We are reviewing how this happened so it cannot happen again, and we will share what we change. "
    "To the customer who wrote to us, @{customer}: we are reaching out to you directly. "
    "Our full statement is at https://example.com/statement and we will keep answering under "
    "#USAirways. Thank you for holding us to a higher standard; you deserve better from us."
)


def test_a_long_statement_goes_out_as_one_thread_with_facets_once(bsky, sqlite_engine) -> None:  # noqa: ANN001
    brand, customer = unique_handle("usairways"), unique_handle("elle")
    bsky.create_account(brand)
    customer_did = bsky.create_account(customer)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    assert isinstance(channel, ChannelReads)
    text = STATEMENT.format(customer=customer)

    receipt = channel.publish(account="brand", platform="bluesky", text=text, key="inc1:publish:bluesky")
    assert receipt.created and receipt.ref.startswith(f"at://{channel.did}/app.bsky.feed.post/")
    own = channel.recent_posts(limit=20)
    assert len(own) >= 2, "longer than 300 graphemes: a thread"
    parts = list(reversed(own))  # oldest first
    assert parts[0].ref == receipt.ref and parts[0].in_reply_to is None
    for before, after in zip(parts, parts[1:], strict=False):
        assert after.in_reply_to == before.ref  # each part answers the one before
    assert all(len(p.text) <= 300 for p in parts) and parts[-1].text.endswith(f"{len(parts)}/{len(parts)}")
    assert " ".join(p.text.rsplit(" ", 1)[0] for p in parts).split() == text.split()

    # The facets are what the Bluesky app would make: a mention resolved to the DID, the link, the tag.
    client = bsky.client(brand)
    features = {}
    for post in parts:
        rkey = post.ref.rsplit("/", 1)[1]
        record = client.com.atproto.repo.get_record(
            {"repo": channel.did, "collection": "app.bsky.feed.post", "rkey": rkey}
        ).value
        raw = post.text.encode()
        for facet in record.facets or []:
            feature = facet.features[0]
            features[raw[facet.index.byte_start : facet.index.byte_end].decode()] = (
                getattr(feature, "did", None) or getattr(feature, "uri", None) or getattr(feature, "tag", None)
            )
    assert features[f"@{customer}"] == customer_did
    assert features["https://example.com/statement"] == "https://example.com/statement"
    assert features["#USAirways"] == "USAirways"

    again = channel.publish(account="brand", platform="bluesky", text=text, key="inc1:publish:bluesky")
    assert not again.created and again.ref == receipt.ref
    assert len(channel.recent_posts(limit=20)) == len(own)  # nothing written twice
    assert channel.find("inc1:publish:bluesky").ref == receipt.ref

    live = channel.get_post(receipt.ref)
    assert live["live"] and live["text"] == parts[0].text and live["url"].endswith(receipt.ref.rsplit("/", 1)[1])


def test_limits_are_reported_before_anything_is_sent(bsky, sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    brand = unique_handle("limits")
    bsky.create_account(brand)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    limits = channel.limits()
    assert (limits.max_chars, limits.count, limits.max_media, limits.threads) == (300, "graphemes", 4, True)
    media = [{"path": str(tmp_path / f"{n}.png"), "type": "image/png"} for n in range(5)]
    with pytest.raises(RejectedByLimits, match="5 media over the limit of 4"):
        channel.publish(text="five pictures", media=media, key="k-media")
    with pytest.raises(RejectedByLimits, match="not accepted"):
        channel.publish(text="a video", media=[{"path": "x.mov", "type": "video/quicktime"}], key="k-video")
    assert channel.recent_posts() == [] and channel.find("k-media") is None


def test_an_image_goes_up_as_a_blob_with_its_alt_text_in_a_reply(bsky, sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    import base64

    brand = unique_handle("media")
    bsky.create_account(brand)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    png = tmp_path / "dot.png"
    png.write_bytes(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
    )
    first = channel.publish(text="Our statement", key="k-first")
    receipt = channel.publish(
        text="Our update",
        media=[{"path": str(png), "alt": "a dot", "type": "image/png"}],
        key="k-img",
        reply_to=first.ref,
    )
    record = (
        bsky.client(brand)
        .com.atproto.repo.get_record(
            {"repo": channel.did, "collection": "app.bsky.feed.post", "rkey": receipt.ref.rsplit("/", 1)[1]}
        )
        .value
    )
    assert record.embed.images[0].alt == "a dot" and record.embed.images[0].image.mime_type == "image/png"
    assert record.reply.parent.uri == first.ref == record.reply.root.uri  # published as a reply


def test_the_offending_post_is_deleted_by_the_delete_step_once(bsky, sqlite_engine) -> None:  # noqa: ANN001
    from runbook import audit
    from runbook.steps.base import StepContext, StepServices
    from runbook.steps.delete_post import KIND as DELETE

    brand = unique_handle("offender")
    bsky.create_account(brand)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    offending = channel.publish(text="the offending post", key="seed:offending")
    assert channel.get_post(offending.ref)["live"]
    incident = audit.create_incident(
        sqlite_engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={},
        requester="ana",
        title="offending post",
    )

    def run() -> object:
        ctx = StepContext(
            incident_id=incident.id,
            incident_slug=incident.slug,
            requester="ana",
            step_id="delete",
            inputs={},
            steps={},
            decision=None,
            services=StepServices(db=sqlite_engine, channel=channel),
            audit=lambda action, details=None: audit.append(
                sqlite_engine,
                incident_id=incident.id,
                actor="system",
                channel="flow",
                action=action,
                step="delete",
                details=dict(details or {}),
            ),
        )
        return DELETE.run(ctx, DELETE.params(post=offending.ref, reason="inappropriate image"))

    first = run()
    assert first.deleted and not first.already_gone
    assert channel.get_post(offending.ref)["live"] is False
    assert [p.ref for p in channel.recent_posts()] == []
    # A retried task (the engine after a crash) finds it gone and knows it deleted it itself.
    second = run()
    assert second.deleted
    assert channel.delete(offending.ref, key="someone-else") is False  # another deleter: already gone
    actions = [e.action for e in audit.events(sqlite_engine, incident.id)]
    assert actions.count("post.deleted") == 2 and "post.already_deleted" not in actions


def test_replies_thread_under_the_person_and_account_lookup(bsky, sqlite_engine) -> None:  # noqa: ANN001
    brand, person = unique_handle("replier"), unique_handle("pat")
    bsky.create_account(brand)
    bsky.create_account(person)
    channel = bluesky_adapter(bsky, sqlite_engine, brand)
    root = channel.publish(text="our statement", key="k-root")
    theirs = bsky.post(person, "why?", mention=(brand, channel.did))
    answer = channel.reply(to_ref=theirs.uri, text=f"@{person} we are sorry.", key="k-reply")
    again = channel.reply(to_ref=theirs.uri, text=f"@{person} we are sorry.", key="k-reply")
    assert again.ref == answer.ref and not again.created
    assert channel.get_post(answer.ref)["in_reply_to"] == theirs.uri
    deadline = time.monotonic() + 10
    info = None
    while time.monotonic() < deadline and info is None:  # the AppView indexes new accounts in the background
        info = channel.account(person)
        time.sleep(0.2)
    assert info is not None and info.handle == person and info.kind == "personal"
    assert root.ref != answer.ref
