"""`runbook monitor --once --json`, `runbook alerts`, `runbook mentions ingest`, and the monitor
flow's body (composition over runbook.listen; run here without a Prefect server)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.listen.conftest import REPO, build_world


@pytest.fixture
def cli_env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    from runbook.db import init_db, make_engine

    engine = make_engine(sqlite_url)
    init_db(engine)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RUNBOOK_ROSTER", str(REPO / "roster.yaml"))
    monkeypatch.setenv("RUNBOOK_PLAYBOOKS_DIR", str(REPO / "playbooks"))
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    return engine


def test_monitor_once_json_alerts_once_and_alerts_start(cli_env) -> None:  # noqa: ANN001
    from runbook.cli.main import app

    world = build_world(cli_env, "digiorno", days=8, storm=800)
    runner = CliRunner()
    at = (world.t0 + timedelta(minutes=45)).isoformat()
    first = runner.invoke(app, ["monitor", "--once", "--json", "--at", at, "--no-run"])
    assert first.exit_code == 0, first.output
    tick = json.loads(first.stdout)  # the console chat printed the alert on stderr
    [brand] = tick["brands"]
    assert brand["brand"] == "x-DiGiorno" and brand["action"] == "opened" and brand["check"]["spike"]
    assert "ALERT" in first.stderr and "runbook alerts start" in first.stderr
    second = runner.invoke(app, ["monitor", "--once", "--at", at, "--no-run"])
    assert second.exit_code == 0 and "x-DiGiorno: still_open" in second.output
    listed = runner.invoke(app, ["alerts", "list"])
    alert_id = listed.output.split()[0]
    started = runner.invoke(app, ["alerts", "start", alert_id, "--as", "ana", "--no-run"])
    assert started.exit_code == 0, started.output
    assert started.output.startswith("incident ") and "(social-media-mistake)" in started.output
    assert "->" in runner.invoke(app, ["alerts", "list"]).output
    resolved = runner.invoke(app, ["alerts", "resolve", alert_id, "--as", "ana"])
    assert resolved.exit_code == 0 and "resolved" in resolved.output
    assert "no open alerts" in runner.invoke(app, ["alerts", "list"]).output


def test_mentions_ingest_command_is_incremental(cli_env) -> None:  # noqa: ANN001
    from runbook.cli.main import app
    from runbook.sandbox import load_storm

    load_storm(cli_env, "red-cross", mentions_count=300)
    runner = CliRunner()
    first = runner.invoke(app, ["mentions", "ingest"])
    assert first.exit_code == 0 and "sandbox x:RedCross: 300 new of 300 fetched" in first.output
    again = runner.invoke(app, ["mentions", "ingest", "--json"])
    assert json.loads(again.output)[0]["inserted"] == 0


def test_monitor_without_brands_says_what_to_do(cli_env) -> None:  # noqa: ANN001
    from runbook.cli.main import app

    result = CliRunner().invoke(app, ["monitor", "--once"])
    assert result.exit_code == 1 and "no brands to watch" in result.output


def test_the_monitor_flow_body_runs_one_check(cli_env) -> None:  # noqa: ANN001
    from flows.monitor import monitor

    world = build_world(cli_env, "us-airways", days=8, storm=300)
    result = monitor.fn(create_run=False)
    assert result["ingested"][0]["account"] == "USAirways" and not result["errors"]
    assert result["brands"][0]["brand"] == "x-USAirways"
    assert world.brand == "USAirways"
