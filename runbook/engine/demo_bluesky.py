"""`runbook demo --network bluesky`: the scenario's accounts, offending post and storm of mentions on
a local Bluesky network (the atproto team's dev-env, see docs/networks.md) instead of the sandbox.
Writes a channels file under RUNBOOK_HOME (passwords in 0600 files beside it, never in the file)
so every step, in the worker too, acts on Bluesky; the statement's other platforms stay sandboxed.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PDS", "available", "seed_bluesky"]

DEFAULT_PDS = "http://localhost:2583"
SAID = [
    "that reply was disgusting, how did this happen?",
    "please delete that image now",
    "I am never flying with you again",
    "who approved this?",
    "this is so hurtful to see",
    "explain how this got through your checks",
    "unbelievable, do better",
    "my kids saw that. shame on you",
    "is anyone reviewing what you post?",
    "I complained about a delay and you sent THAT?",
]


def available(pds: str, timeout: float = 2.0) -> bool:
    """A PDS answers at `pds` (GET /xrpc/_health)."""
    import httpx

    try:
        return httpx.get(f"{pds.rstrip('/')}/xrpc/_health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _account(pds: str, handle: str, folder: Path) -> tuple[Any, Path]:
    """Create `handle` with a fresh password kept in a 0600 file; returns (logged-in client, file)."""
    from atproto import Client, models

    password = secrets.token_urlsafe(18)
    client = Client(base_url=pds)
    client.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(
            handle=handle, email=f"{handle.split('.')[0]}@example.test", password=password
        )
    )
    path = folder / f"{handle}.password"
    path.touch(mode=0o600)
    path.write_text(password + "\n", encoding="utf-8")
    client.login(handle, password, fetch_bsky_profile=False)
    return client, path


def seed_bluesky(services: Any, scenario: Any, *, pds: str = DEFAULT_PDS, people: int = 12) -> Any:
    """The scenario on Bluesky: a brand account, its offending post, `people` accounts answering it
    or mentioning the brand, all ingested into the listening store; returns the demo's Seeded."""
    from atproto import client_utils, models

    from runbook.channels.config import load_channels_config
    from runbook.channels.registry import ConfiguredChannels
    from runbook.engine.demo import Seeded, schedule_demo_posts
    from runbook.listen.ingest import ingest_channel

    home = services.settings.ensure_home().resolve()
    folder = home / "demo-bluesky"
    folder.mkdir(exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    brand_handle = f"{scenario.name.replace('-', '')}-{tag}.test"
    brand_client, brand_secret = _account(pds, brand_handle, folder)
    config = folder / "channels.yaml"
    config.write_text(
        f"""\
# Written by `runbook demo --network bluesky`: the brand account on the local Bluesky network;
# the statement's other platforms stay on the sandbox (account id "brand").
brands:
  demo: {{name: {scenario.name}}}
channels:
  bluesky: {{platform: bluesky, service: "{pds}"}}
  sandbox: {{platform: sandbox}}
accounts:
  {scenario.name}-bluesky:
    brand: demo
    channel: bluesky
    handle: {brand_handle}
    token_file: {brand_secret}
  brand:
    brand: demo
    channel: sandbox
    handle: brand
""",
        encoding="utf-8",
    )
    os.environ["RUNBOOK_CHANNELS"] = str(config)  # the worker inherits it: every step acts on Bluesky
    services.settings.channels.file = config
    router = ConfiguredChannels(load_channels_config(config), engine=services.db)
    channel = router.adapter(f"{scenario.name}-bluesky")
    offending = channel.publish(
        text="Thanks for the feedback! [an offensive image was attached here]", key=f"demo:{tag}:offending"
    )
    did = channel.did
    for n in range(people):
        client, _ = _account(pds, f"fan{n}-{tag}.test", folder)
        builder = client_utils.TextBuilder().text(SAID[n % len(SAID)])
        if n % 2:
            parent = models.create_strong_ref(
                brand_client.com.atproto.repo.get_record(
                    {"repo": did, "collection": "app.bsky.feed.post", "rkey": offending.ref.rsplit("/", 1)[1]}
                )
            )
            client.send_post(
                builder,
                profile_identify=client._session.did,
                reply_to=models.AppBskyFeedPost.ReplyRef(parent=parent, root=parent),
            )
        else:
            builder.text(" ").mention(f"@{brand_handle}", did)
            client.send_post(builder, profile_identify=client._session.did)
    deadline = time.monotonic() + 30  # the AppView indexes in the background
    while len(channel.mentions(limit=1000).items) < people and time.monotonic() < deadline:
        time.sleep(0.5)
    ingest_channel(services.db, channel, source="bluesky", account=brand_handle, platform="bluesky")
    rkey = offending.ref.rsplit("/", 1)[1]
    scheduled = schedule_demo_posts(services, scenario, account=brand_handle, platform="bluesky")
    return Seeded(
        account=brand_handle, offending_post=f"https://bsky.app/profile/{did}/post/{rkey}", scheduled=scheduled
    )
