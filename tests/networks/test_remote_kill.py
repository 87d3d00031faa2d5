"""Kill tests: a process SIGKILLed in the middle of the remote freeze, or of the thaw's restores,
and then reconciled (as `runbook recover` does): nothing lost, nothing left scheduled, nothing
restored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from runbook.channels.buffer import BufferQueue
from runbook.queue import NewPost, list_freezes, propose_thaw, schedule_posts
from runbook.queue.remote import reconcile_remote
from runbook.queue.remote_tables import remote_holds
from runbook.queue.times import utcnow
from tests.networks.fakes.fixtures import BUFFER_TOKEN, checker, db_url, engine, fake_buffer, jobs, pg_url, sqlite_url  # noqa: F401

SCRIPT = Path(__file__).parent / "fakes" / "remote_freeze_proc.py"
POSTS = 200
pytestmark = pytest.mark.slow


def _run_until(args: list[str], killed_when) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "TEST_BUFFER_TOKEN": BUFFER_TOKEN}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 60
    while not killed_when() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, f"the process ended before the kill: {proc.stderr.read()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc


def _states(engine) -> Counter:  # noqa: ANN001
    with engine.connect() as c:
        return Counter(c.execute(sa.select(remote_holds.c.status)).scalars())


def test_killed_mid_freeze_then_reconciled(engine, db_url, fake_buffer, checker, jobs) -> None:  # noqa: ANN001, F811
    schedule_posts(
        engine,
        [
            NewPost(
                account="brand",
                platform="x",
                text="Local post",
                author="sam",
                run_at=utcnow().replace(microsecond=0).replace(year=utcnow().year + 1),
            )
        ],
        checker=checker,
        jobs=jobs,
        actor="sam",
        channel="cli",
    )
    pid = fake_buffer.add_profile("twitter", "brand")
    later = time.time() + 7200
    texts = {
        fake_buffer.add_update(
            pid, f"Scheduled post {n}", later + 60 * n, media={"picture": f"https://cdn.example/{n}.jpg"}
        ): f"Scheduled post {n}"
        for n in range(POSTS)
    }
    fake_buffer.delay = 0.01  # a remote API answering in 10 ms: the freeze takes a while
    _run_until([db_url, fake_buffer.url, pid, "freeze"], lambda: len(fake_buffer.destroyed) >= 40)

    states = _states(engine)
    assert sum(states.values()) == POSTS and states["intent"] > 0  # all recorded before any removal
    assert 40 <= len(fake_buffer.destroyed) < POSTS and fake_buffer.pending()  # killed midway
    fake_buffer.delay = 0
    queue = BufferQueue(
        "buffer-main", token=BUFFER_TOKEN, profiles={pid: "brand"}, base_url=fake_buffer.url, rate_limit=None
    )
    lines = reconcile_remote(engine, [queue])
    assert any("200 post(s) held" in line for line in lines), lines
    assert fake_buffer.pending() == [] and _states(engine) == {"held": POSTS}  # nothing left scheduled
    with engine.connect() as c:
        rows = c.execute(sa.select(remote_holds)).all()
    assert {r.remote_id: r.text for r in rows} == texts  # nothing lost, stored in full
    assert all(r.media == [{"picture": f"https://cdn.example/{r.text.split()[-1]}.jpg"}] for r in rows)

    # Killed again in the middle of the thaw's restores: the recovery restores the rest, once each.
    (freeze,) = list_freezes(engine)
    plan = propose_thaw(engine, freeze["id"], actor="ana", channel="cli", checker=checker)
    fake_buffer.delay = 0.01
    _run_until([db_url, fake_buffer.url, pid, "thaw", plan.id], lambda: len(fake_buffer.pending()) >= 30)
    fake_buffer.delay = 0
    assert 0 < len(fake_buffer.pending()) < POSTS and _states(engine)["restoring"] > 0
    reconcile_remote(engine, [queue])
    restored = Counter(u["text"] for u in fake_buffer.pending())
    assert restored == Counter(texts.values())  # every post back, exactly once
    assert _states(engine) == {"restored": POSTS}
