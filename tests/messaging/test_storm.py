"""The DiGiorno scenario end to end on the sandbox network: a 2,000-mention storm, every distinct
person answered exactly once, near-duplicates flagged, and a sending process killed with SIGKILL
mid-send then resumed with zero duplicates (asserted on the network's stored replies)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from runbook import audit
from runbook.sandbox import SandboxChannel
from tests.messaging.conftest import REPO, distinct_people, load_digiorno, replies_by_person, reply_params, step_context

pytestmark = pytest.mark.slow


def _replied(engine) -> int:  # noqa: ANN001
    return sum(1 for p in SandboxChannel(engine).posts() if p["in_reply_to"])


def test_storm_every_person_answered_once_even_after_a_kill(db_url, engine, brand, checker) -> None:  # noqa: ANN001
    from runbook.steps.reply_individually import KIND

    load_digiorno(engine, 2000)
    people = distinct_people(engine)
    incident = audit.create_incident(
        engine,
        playbook_id="hashtag-misuse",
        playbook_version=1,
        inputs={"hashtag": "#WhyIStayed"},
        requester="ana",
        title="DiGiorno storm",
    )
    # DiGiorno answered every person who interacted: the filter is set to everyone here.
    first = KIND.run(
        step_context(engine, incident, "replies", brand=brand, checker=checker), reply_params(answer="all")
    )
    assert first.people == len(people) > 800 and len(first.items) == first.people
    # The storm's people repeat each other, so do the first drafts: flagged for a person to rewrite.
    flagged = [i for i in first.items if i["near_duplicate"]]
    assert len(flagged) > first.people // 2
    assert all(i["near_duplicate"]["score"] >= 0.8 and i["near_duplicate"]["of"].startswith("r") for i in flagged)
    assert len({i["draft"] for i in first.items}) > 100  # built from what each person said, not one text
    assert {i["language"] for i in first.items} == {"en", "nl"}

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.send_proc", db_url, incident.id, "150/1s"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while _replied(engine) < 200 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-send, no clean-up of any kind
    finally:
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == -signal.SIGKILL, output
    at_kill = _replied(engine)
    assert 200 <= at_kill < len(people), output

    resumed = KIND.run(
        step_context(
            engine,
            incident,
            "replies",
            brand=brand,
            checker=checker,
            decision={"actions": "", "approve_flagged": True, "person": "sam"},
        ),
        reply_params(answer="all"),
    )
    assert resumed.phase == "done" and not resumed.awaiting_review
    assert resumed.coverage["sent"] == len(people) and resumed.coverage_percent == 100.0
    counts = replies_by_person(engine)
    assert set(counts) == people  # nobody lost
    assert set(counts.values()) == {1}  # nobody answered twice
    assert _replied(engine) == len(people)
    sent_events = [e for e in audit.events(engine, incident.id) if e.action == "reply.sent"]
    assert len(sent_events) == len(people) == len({e.details["person"] for e in sent_events})
