"""`runbook freeze` and `runbook thaw` cover the remote queues of channels.yaml (Buffer and a
Page's scheduled posts), report their own timing, and never print, log or audit a secret."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from runbook.audit.models import AuditEvent
from runbook.channels.resilience import reset_limiters
from runbook.cli.main import app
from runbook.db import dispose_engines, make_engine
from tests.networks.fakes.buffer_api import FakeBuffer
from tests.networks.fakes.graph_api import FakeGraph

ROSTER = Path(__file__).parents[2] / "roster.yaml"
BUFFER_SECRET, META_SECRET = "buf-SECRET-0c7e1d", "EAAB-SECRET-51aa9f"

CHANNELS = """\
brands: {acme: {name: Acme}}
channels:
  fb: {platform: facebook, service: "%(graph)s", options: {page_id: "101"}}
accounts:
  acme-fb: {brand: acme, channel: fb, handle: brand, token_env: TEST_META_SECRET}
remote_queues:
  buffer-main:
    kind: buffer
    brand: acme
    service: "%(buffer)s"
    token_file: buffer.token
    options: {profile_id: "%(profile)s", account: brand, rate_limit: ""}
  page-schedule:
    kind: meta
    brand: acme
    account: acme-fb
    service: "%(graph)s"
    token_env: TEST_META_SECRET
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    reset_limiters()
    with FakeBuffer(token=BUFFER_SECRET) as buffer, FakeGraph(page_token=META_SECRET, page_name="brand") as graph:
        profile = buffer.add_profile("twitter", "brand")
        (tmp_path / "buffer.token").write_text(BUFFER_SECRET + "\n")
        (tmp_path / "channels.yaml").write_text(
            CHANNELS % {"graph": graph.url, "buffer": buffer.url, "profile": profile}
        )
        monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("RUNBOOK_ROSTER", str(ROSTER))
        monkeypatch.setenv("TEST_META_SECRET", META_SECRET)
        monkeypatch.chdir(tmp_path)
        runner = CliRunner()

        def run(*args: str) -> tuple[int, str]:
            result = runner.invoke(app, list(args))
            return result.exit_code, result.output

        yield run, buffer, graph, profile, tmp_path
    dispose_engines()
    reset_limiters()


def test_freeze_and_thaw_cover_remote_queues_without_leaking_secrets(world, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    run, buffer, graph, profile, home = world
    later = time.time() + 3 * 3600
    for n in range(3):
        buffer.add_update(profile, f"Buffer post {n}", later + n)
        graph.add_scheduled(f"Page post {n}", later + 60 * n)
    code, out = run(
        "posts",
        "schedule",
        "--account",
        "brand",
        "--platform",
        "x",
        "--at",
        "+2h",
        "--text",
        "Local post",
        "--as",
        "sam",
        "--no-links",
    )
    assert code == 0, out
    code, out = run("freeze", "--as", "ana", "--reason", "offensive reply", "--json")
    assert code == 0, out
    frozen = json.loads(out)
    remote = frozen["remote"]
    assert frozen["frozen"] == 1 and remote["held"] == 6 and remote["queues"] == ["buffer-main", "page-schedule"]
    assert remote["last_held_ms"] > 0 and remote["local_commit_ms"] is not None
    assert buffer.pending() == [] and graph.scheduled() == []

    code, proposal = run("thaw", frozen["id"], "--as", "ana", "--no-links")
    assert code == 0 and proposal.count("=release") == 7, proposal
    code, applied = run("thaw", frozen["id"], "--as", "bram", "--apply")
    assert code == 0, applied
    assert sorted(u["text"] for u in buffer.pending()) == [f"Buffer post {n}" for n in range(3)]
    assert sorted(p["message"] for p in graph.scheduled()) == [f"Page post {n}" for n in range(3)]

    # Secrets: not in any output, log line, audit event or file the product wrote.
    with make_engine(f"sqlite:///{home / 'home' / 'runbook.db'}").connect() as c:
        events = c.execute(sa.select(AuditEvent.action, AuditEvent.details)).all()
    trail = " ".join(json.dumps(r.details) for r in events)
    actions = [r.action for r in events]
    assert "freeze.remote" in actions and actions.count("remote.released") == 6
    written = " ".join(
        p.read_text(errors="ignore") for p in (home / "home").rglob("*") if p.is_file() and p.suffix != ".db"
    )
    db_bytes = (home / "home" / "runbook.db").read_bytes()
    for secret in (BUFFER_SECRET, META_SECRET):
        for text in (out, proposal, applied, caplog.text, trail, written):
            assert secret not in text
        assert secret.encode() not in db_bytes


def test_a_broken_remote_queue_does_not_stop_the_local_freeze(world) -> None:  # noqa: ANN001
    run, buffer, graph, profile, home = world
    (home / "buffer.token").unlink()
    code, out = run(
        "posts",
        "schedule",
        "--account",
        "brand",
        "--platform",
        "x",
        "--at",
        "+2h",
        "--text",
        "Local post",
        "--as",
        "sam",
        "--no-links",
    )
    code, out = run("freeze", "--as", "ana")
    assert code == 0 and "1 post(s) frozen" in out
    assert "error: remote queues not frozen: buffer-main: cannot read secret file" in out
    assert "remote queues page-schedule: 0 post(s) held" in out  # the other queue was still frozen
    assert BUFFER_SECRET not in out and META_SECRET not in out
