"""`runbook audit verify|show|export` against a real database, through Typer's runner."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from runbook import audit
from runbook.cli.audit import register
from runbook.db import make_engine
from tests.audit.audit_helpers import fill, new_incident, tamper


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["audit", *args])


@pytest.fixture
def trail(engine: sa.Engine) -> audit.Incident:
    incident = new_incident(engine)
    fill(engine, incident.id, 4)
    return incident


def test_verify_ok(cli, trail: audit.Incident) -> None:
    result = cli("verify")
    assert (result.exit_code, result.output.strip()) == (0, "OK: 4 events in 1 incidents verified")
    assert cli("verify", "--incident", trail.slug).exit_code == 0
    report = json.loads(cli("verify", "--json").stdout)
    assert report == {"ok": True, "checked": 4, "incidents": 1, "problems": []}


def test_verify_names_the_first_broken_incident_and_seq(cli, db_url: str, trail: audit.Incident) -> None:
    tamper(make_engine(db_url), ("UPDATE audit_event SET actor = 'U-mallory' WHERE seq = 2", {}))
    result = cli("verify")
    assert result.exit_code == 1
    assert f"FAILED: incident {trail.slug} seq 2: hash_mismatch" in result.output
    assert "Traceback" not in result.output
    as_json = cli("verify", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["problems"][0]["kind"] == "hash_mismatch"


def test_show_prints_a_timeline(cli, trail: audit.Incident) -> None:
    result = cli("show", trail.slug)
    assert result.exit_code == 0, result.output
    assert trail.slug in result.output
    for word in ("seq", "actor", "step.completed", "U-alice", "step-3", '{"i":3'):
        assert word in result.output
    rows = json.loads(cli("show", trail.id, "--json").stdout)
    assert [row["seq"] for row in rows] == [1, 2, 3, 4]
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH


def test_export_jsonl_and_csv(cli, db_url: str, trail: audit.Incident, tmp_path: Path) -> None:
    stored = audit.events(make_engine(db_url), trail.id)
    lines = cli("export", trail.slug, "--format", "jsonl").stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert [row["hash"] for row in exported] == [event.hash for event in stored]
    assert exported[1]["details"] == stored[1].details

    out = tmp_path / "trail.csv"
    result = cli("export", trail.id, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["seq"] for row in rows] == ["1", "2", "3", "4"]
    assert json.loads(rows[0]["details"]) == stored[0].details
    assert rows[3]["hash"] == stored[3].hash


def test_exported_rows_reverify_offline(cli, trail: audit.Incident) -> None:
    """An export carries everything needed to recompute the chain without the database."""
    import hashlib

    prev = audit.GENESIS_HASH
    for line in cli("export", trail.slug, "--format", "jsonl").stdout.splitlines():
        row = json.loads(line)
        fields = [row[k] for k in ("incident_id", "seq", "ts", "actor", "channel", "action", "step", "details")]
        text = json.dumps([*fields, prev], sort_keys=True, separators=(",", ":"))
        assert row["prev_hash"] == prev
        assert hashlib.sha256(text.encode()).hexdigest() == row["hash"]
        prev = row["hash"]


@pytest.mark.parametrize(
    "args", [["show", "nope"], ["export", "nope", "--format", "csv"], ["verify", "--incident", "nope"]]
)
def test_unknown_incident_is_one_line(cli, trail: audit.Incident, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 1
    assert result.output.strip() == "error: no incident 'nope' (give its id or slug)"


def test_bad_format(cli, trail: audit.Incident) -> None:
    result = cli("export", trail.slug, "--format", "xml")
    assert result.exit_code == 1 and "jsonl, csv" in result.output and "Traceback" not in result.output


def test_default_database_lives_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "state"))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert (result.exit_code, result.output.strip()) == (0, "OK: 0 events in 0 incidents verified")
    assert (tmp_path / "state" / "runbook.db").exists()


def test_audit_paths_do_not_import_prefect() -> None:
    code = (
        "import sys, runbook.cli.audit, runbook.audit, runbook.db, runbook.audit.verify, runbook.audit.export; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'prefect'], 'prefect imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", f"sqlite:///{tmp_path}/missing-dir/x.db")
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot open the database") and "Traceback" not in result.output
