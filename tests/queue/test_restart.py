"""A scheduler process killed (SIGKILL) right after a freeze and restarted later publishes nothing
in scope; what it left half-done is settled from the channel's record, never re-sent blindly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from runbook.queue import freeze_now, list_posts
from runbook.queue.tables import posts as posts_table
from runbook.queue.times import utcnow
from runbook.sandbox import SandboxChannel
from tests.queue.conftest import make_posts, soon, wait_until

SCRIPT = Path(__file__).with_name("scheduler_proc.py")
pytestmark = pytest.mark.slow


def _start(url: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), url, "0.05", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _statuses(engine) -> dict[str, str]:  # noqa: ANN001
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(posts_table.c.id, posts_table.c.status)).all())


def test_scheduler_killed_and_restarted_during_a_freeze(engine, db_url, checker, jobs, incident) -> None:  # noqa: ANN001
    first = make_posts(engine, checker, jobs, count=30, at=soon(3.0))  # firing when the freeze lands
    later = make_posts(engine, checker, jobs, count=30, at=soon(4.5))  # due while the scheduler is dead
    outside = make_posts(engine, checker, jobs, count=5, at=soon(4.5), account="careers")
    proc = _start(db_url)
    try:
        assert wait_until(
            lambda: (
                SandboxChannel(engine).find(f"post:{first[0].id}") is not None
                or any(p.status != "scheduled" for p in list_posts(engine, account="brand"))
            ),
            timeout=15,
        )
        result = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli", accounts=["brand"])
        returned_at = utcnow()
        proc.send_signal(signal.SIGKILL)  # mid-stream: some posts may be left in `publishing`
        proc.wait(10)
        time.sleep(max(0.0, (later[0].run_at - utcnow()).total_seconds()) + 0.5)
        proc = _start(db_url)
        assert wait_until(
            lambda: (
                all(SandboxChannel(engine).find(f"post:{p.id}") for p in outside)
                and not list_posts(engine, status="publishing")
            ),
            timeout=20,
        )
    finally:
        proc.kill()
        proc.wait(10)

    statuses = _statuses(engine)
    sent = {row["key"].removeprefix("post:"): row["created_at"] for row in SandboxChannel(engine).posts()}
    frozen, reported = set(result.post_ids), {p.id for p in result.publishing}
    assert {p.id for p in later} <= frozen  # every post due after the freeze was frozen
    assert frozen.isdisjoint(sent)
    assert {statuses[p] for p in frozen} == {"frozen"}
    for post in first:
        if post.id in sent and post.id not in reported:
            assert sent[post.id] <= returned_at  # went out before the freeze committed
    for post_id in reported:  # in flight at the kill: settled from the channel, or held for a person
        assert statuses[post_id] in ("published", "needs_review")
        assert (statuses[post_id] == "published") == (post_id in sent)
    assert all(statuses[p.id] == "published" for p in outside)  # the restarted scheduler works
