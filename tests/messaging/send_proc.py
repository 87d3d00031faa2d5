"""Run as a separate process by the storm test: apply the approvers' decision to the open batch of
replies and send them (slowly, within the rate limit) until the test kills it with SIGKILL."""

from __future__ import annotations

import sys

from runbook import audit
from runbook.db import make_engine
from runbook.sandbox import SandboxChannel
from runbook.steps.reply_individually import KIND
from tests.messaging.conftest import make_brand, reply_params, step_context


def main(url: str, incident_id: str, rate: str) -> None:
    engine = make_engine(url)
    incident = audit.get_incident(engine, incident_id)
    ctx = step_context(
        engine,
        incident,
        "replies",
        decision={"actions": "", "approve_flagged": True, "person": "sam"},
        brand=make_brand(),
        channel=SandboxChannel(engine),
    )
    print("sending", flush=True)
    KIND.run(ctx, reply_params(rate_limit=rate, answer="all"))
    print("finished", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
