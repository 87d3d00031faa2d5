"""`runbook channels list | check`, the account router steps publish through, mention ingestion
from configured accounts by the monitor, and secrets: a test greps every output channel for them
(command output, logs, the audit trail and its export, step outputs, chat, every database table)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.testing.server import MockServer
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.ports.channel import ChannelError

TOKEN = "tok-7c1e0b5a-brand-secret"  # a mock server's fixture token, never printed
OTHER = "tok-2f9a77d0-person"


@pytest.fixture
def server() -> Iterator[MockServer]:
    seed = SeedConfig(
        accounts=[
            SeedAccount(username="usairways", access_token=TOKEN),
            SeedAccount(username="alice", access_token=OTHER),
        ]
    )
    with MockServer(seed=seed) as running:
        yield running


def channels_file(tmp_path: Path, server: MockServer, *, token_line: str = "token_env: MASTO_TOKEN") -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(f"""\
brands:
  usairways: {{name: US Airways}}
channels:
  masto: {{platform: mastodon, service: "{server.base_url}", tuning: {{timeout: 2, budget: 5, attempts: 2}}}}
  sandbox: {{platform: sandbox}}
accounts:
  usairways-masto:
    brand: usairways
    channel: masto
    handle: usairways
    {token_line}
  usairways-sandbox:
    brand: usairways
    channel: sandbox
    handle: USAirways
""")
    return path


def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_list_without_a_file_says_sandbox(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    code, out = run("channels", "list", env={"RUNBOOK_CHANNELS": ""})
    assert code == 0 and "sandbox network" in out


def test_list_and_check_report_each_account_and_problem(tmp_path, server, monkeypatch) -> None:  # noqa: ANN001
    path = channels_file(tmp_path, server)
    env = {"RUNBOOK_CHANNELS": str(path), "MASTO_TOKEN": TOKEN}
    code, out = run("channels", "list", env=env)
    assert code == 0 and "usairways-masto" in out and "environment variable MASTO_TOKEN (set)" in out
    code, out = run("channels", "check", "--json", env=env)
    report = json.loads(out)
    assert code == 0 and report["ok"], out
    masto = next(a for a in report["accounts"] if a["account"] == "usairways-masto")
    assert masto["identity"].startswith("@usairways@") and masto["limits"]["max_chars"] == 500
    assert masto["problems"] == [] and masto["seconds"] < 5

    code, out = run("channels", "check", env={"RUNBOOK_CHANNELS": str(path), "MASTO_TOKEN": ""})
    assert code == 1 and "usairways-masto: environment variable MASTO_TOKEN is not set" in out
    code, out = run("channels", "check", env={"RUNBOOK_CHANNELS": str(path), "MASTO_TOKEN": "wrong-token"})
    assert code == 1 and "usairways-masto: token refused" in out and "wrong-token" not in out
    code, out = run("channels", "check", "--account", "nobody", env=env)
    assert code == 2 and "unknown account(s): nobody" in out

    broken = channels_file(tmp_path, server, token_line="token: " + TOKEN)
    code, out = run("channels", "list", env={"RUNBOOK_CHANNELS": str(broken)})
    assert code == 2 and f"{broken}:11:5: accounts.usairways-masto.token: 'token' looks like a secret" in out
    assert TOKEN not in out


def test_steps_name_accounts_by_id_and_the_monitor_ingests_them(tmp_path, server, sqlite_engine, monkeypatch) -> None:  # noqa: ANN001
    from runbook.channels.config import load_channels_config
    from runbook.channels.registry import ConfiguredChannels
    from runbook.listen.config import ListeningConfig
    from runbook.listen.monitor import run_once

    path = channels_file(tmp_path, server)
    monkeypatch.setenv("MASTO_TOKEN", TOKEN)
    monkeypatch.setenv("RUNBOOK_CHANNELS", str(path))
    router = ConfiguredChannels(load_channels_config(path), engine=sqlite_engine)
    by_id = router.publish(account="usairways-masto", platform="mastodon", text="by id", key="k1")
    by_handle = router.publish(account="usairways", platform="mastodon", text="by handle", key="k2")
    assert by_id.ref.startswith("mastodon:") and by_handle.ref.startswith("mastodon:")
    sandboxed = router.publish(account="usairways-sandbox", platform="x", text="drill", key="k3")
    assert sandboxed.ref.startswith("s")
    # The same handle on a platform with no real account of it: the sandbox (drills) takes it.
    assert router.publish(account="USAirways", platform="x", text="drill 2", key="k3b").ref.startswith("s")
    with pytest.raises(ChannelError, match="unknown account 'nobody'.*known: usairways-masto, usairways-sandbox"):
        router.publish(account="nobody", platform="mastodon", text="x", key="k4")
    assert router.find("k1").ref == by_id.ref and router.get_post(by_id.ref)["live"]
    assert router.delete(by_handle.ref, key="del") is True

    server.client("alice").status_post("@usairways what happened?")
    config = ListeningConfig.model_validate(
        {
            "sources": [{"name": "networks", "kind": "channels"}],
            "brands": [{"id": "usairways", "accounts": [{"platform": "mastodon", "handle": "usairways"}]}],
        }
    )
    tick = run_once(sqlite_engine, config, check=False, escalate=False)
    assert not tick.errors and [r.inserted for r in tick.ingested] == [1]
    assert run_once(sqlite_engine, config, check=False, escalate=False).ingested[0].inserted == 0


def test_secrets_reach_no_output_channel(tmp_path, server, sqlite_engine, monkeypatch, caplog, capsys) -> None:  # noqa: ANN001
    import io

    from runbook import audit
    from runbook.audit.export import write_events
    from runbook.channels.config import load_channels_config
    from runbook.channels.registry import ConfiguredChannels
    from runbook.ports.chat import ConsoleChat
    from runbook.steps.base import StepContext, StepServices
    from runbook.steps.delete_post import KIND as DELETE

    caplog.set_level(logging.DEBUG)
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(TOKEN + "\n")
    path = channels_file(tmp_path, server, token_line="token_file: token.txt")
    env = {"RUNBOOK_CHANNELS": str(path)}
    outputs = [
        run("channels", "list", "--json", env=env)[1],
        run("channels", "check", "--json", env=env)[1],
        run("channels", "check", env=env)[1],
    ]
    monkeypatch.setenv("RUNBOOK_CHANNELS", str(path))
    router = ConfiguredChannels(load_channels_config(path), engine=sqlite_engine)
    incident = audit.create_incident(
        sqlite_engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={},
        requester="ana",
        title="secrets",
    )
    offending = router.publish(account="usairways-masto", platform="mastodon", text="offending", key="seed")
    chat = ConsoleChat(engine=sqlite_engine, incident_id=incident.id)
    ctx = StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester="ana",
        step_id="delete",
        inputs={},
        steps={},
        decision=None,
        chat=chat,
        channel="#war-room",
        services=StepServices(db=sqlite_engine, channel=router),
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
    result = DELETE.run(ctx, DELETE.params(post=offending.ref, reason="test"))
    outputs.append(result.model_dump_json())
    # A failing call (the instance down) must not carry the token in its error either.
    server.stop()
    with pytest.raises(ChannelError) as failed:
        router.publish(account="usairways-masto", platform="mastodon", text="x", key="after-stop")
    outputs.append(str(failed.value))
    exported = io.StringIO()
    write_events(audit.events(sqlite_engine, incident.id), exported, "jsonl")
    outputs.append(exported.getvalue())
    outputs.append(caplog.text)
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err]
    with sqlite_engine.connect() as connection:  # every table, every row, as text
        for table in sa.inspect(sqlite_engine).get_table_names():
            outputs.append(repr(connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()))
    outputs.append(repr(router) + repr(router.config) + repr(router.adapter("usairways-masto").config))
    assert all(TOKEN not in text for text in outputs)
    assert any("mastodon" in text for text in outputs)  # the channels did write what they should
