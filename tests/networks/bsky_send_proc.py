"""Run as a separate process by the Bluesky reply test: apply the approvers' decision and send the
personal replies through the Bluesky adapter. With a die-after count N it exits abruptly (no
clean-up, like SIGKILL) right after the Nth post reached the network and before anything about it
was committed locally: the worst moment for a crash."""

from __future__ import annotations

import os
import sys

from runbook import audit
from runbook.channels.config import parse_channels_config
from runbook.channels.registry import build_adapter
from runbook.db import make_engine
from runbook.steps.reply_individually import KIND
from tests.messaging.conftest import reply_params, step_context
from tests.networks.test_bluesky_storm import bluesky_brand


def main(url: str, incident_id: str, channels_file: str, brand_handle: str, die_after: str) -> None:
    engine = make_engine(url)
    incident = audit.get_incident(engine, incident_id)
    config = parse_channels_config(open(channels_file, "rb").read(), channels_file)
    channel = build_adapter(config, "brand", engine=engine)
    if int(die_after):
        created = channel._create
        count = {"n": 0}

        def create_then_die(rkey, record):  # noqa: ANN001, ANN202
            out = created(rkey, record)
            count["n"] += 1
            if count["n"] >= int(die_after):
                print(f"dying after {count['n']} posts", flush=True)
                os._exit(9)
            return out

        channel._create = create_then_die
    ctx = step_context(
        engine,
        incident,
        "replies",
        decision={"actions": "", "approve_flagged": True, "person": "sam"},
        brand=bluesky_brand(brand_handle),
        channel=channel,
    )
    print("sending", flush=True)
    out = KIND.run(
        ctx,
        reply_params(
            template="replies/social-media-mistake.en.j2",
            template_nl="replies/social-media-mistake.nl.j2",
            rate_limit="1000/1s",
        ),
    )
    print("finished", out.coverage, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
