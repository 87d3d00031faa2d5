"""`runbook postmortem`, `runbook incidents report` and `runbook incidents reminders` through the real
CLI app against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.db import make_engine
from tests.audit.audit_helpers import tamper
from tests.postmortem.scenarios import SCENARIOS


@pytest.fixture
def world(lite, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", lite.url.render_as_string(hide_password=False))
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(Path(__file__).parents[2])  # the roster and playbooks of the repository
    built = {name: build(lite).incident for name, build in SCENARIOS.items()}
    from runbook.queue.ledger import ledger_incident

    ledger_incident(lite)  # the post queue's standing ledger: never a row of the report
    runner = CliRunner()
    return built, lambda *args: runner.invoke(app, list(args))


def test_postmortem_in_each_format(world, tmp_path: Path) -> None:
    built, cli = world
    slug = built["digiorno"].slug
    result = cli("postmortem", slug)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Post-mortem: Pizza joke on \\#WhyIStayed")
    out = tmp_path / "report.html"
    result = cli("postmortem", slug, "--format", "html", "-o", str(out))
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote the final post-mortem of {slug}" in result.stderr
    data = json.loads(cli("postmortem", built["red-cross"].id, "-f", "json").stdout)
    assert data["metrics"]["time_to_freeze"]["value"] == 180 and data["state"] == "final"


def test_postmortem_refusals(world) -> None:
    _, cli = world
    result = cli("postmortem", "no-such-incident")
    assert result.exit_code == 1 and "no incident 'no-such-incident'" in result.stderr
    result = cli("postmortem", "x", "--format", "pdf")
    assert result.exit_code == 1 and "--format must be one of md, html, json" in result.stderr


def test_postmortem_of_a_tampered_trail_is_written_and_exits_1(world, lite, tmp_path: Path) -> None:
    built, cli = world
    incident = built["us-airways"]
    tamper(lite, ("UPDATE audit_event SET actor = 'mallory' WHERE incident_id = :i AND seq = 5", {"i": incident.id}))
    out = tmp_path / "tampered.md"
    result = cli("postmortem", incident.slug, "-o", str(out))
    assert result.exit_code == 1
    assert "FAILED: the audit trail of" in result.stderr and "every metric is withheld" in result.stderr
    assert "FAILED verification" in out.read_text()


def test_incidents_report_table_and_csv(world, tmp_path: Path) -> None:
    built, cli = world
    result = cli("incidents", "report")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["incident", "report", "detect", "freeze"]
    order = [line.split()[0] for line in lines[2:5]]
    assert order == [built["red-cross"].slug, built["us-airways"].slug, built["digiorno"].slug]  # oldest first
    assert lines[-1].startswith("median of 3")
    assert "14m 15s" in lines[-1]  # median time to detect (690 s, 1020 s): red cross recorded none

    path = tmp_path / "incidents.csv"
    assert cli("incidents", "report", "--csv", str(path)).exit_code == 0
    rows = list(csv.DictReader(path.open()))
    assert [r["slug"] for r in rows] == order
    by = {r["slug"]: r for r in rows}
    us, rc, dg = by[built["us-airways"].slug], by[built["red-cross"].slug], by[built["digiorno"].slug]
    assert (us["time_to_detect"], rc["time_to_detect"], dg["time_to_detect"]) == ("690.0", "", "1020.0")
    assert (us["time_to_first_statement"], rc["time_to_first_statement"], dg["time_to_first_statement"]) == (
        "2040.0",
        "2520.0",
        "1980.0",
    )
    assert (dg["reply_coverage"], dg["replies_answered"], us["replies_answered"]) == ("66.7", "4.0", "")
    assert rc["escalations"] == "1.0" and us["refused_attempts"] == "2.0"
    assert all(r["report_state"] == "final" and r["verified"] == "True" for r in rows)

    since = list(csv.DictReader(io.StringIO(cli("incidents", "report", "--since", "2014-01-01", "--csv", "-").stdout)))
    assert [r["slug"] for r in since] == order[1:]
    assert cli("incidents", "report", "--since", "last week").exit_code == 1


def test_incidents_report_shows_no_number_for_a_broken_trail(world, lite, tmp_path: Path) -> None:
    built, cli = world
    incident = built["digiorno"]
    tamper(lite, ("DELETE FROM audit_event WHERE incident_id = :i AND seq = 9", {"i": incident.id}))
    path = tmp_path / "incidents.csv"
    result = cli("incidents", "report", "--csv", str(path))
    assert f"FAILED verification, no numbers shown: {incident.slug}" in result.stderr
    row = next(r for r in csv.DictReader(path.open()) if r["slug"] == incident.slug)
    assert row["report_state"] == "untrusted" and row["broken_entries"] == "1"
    assert all(row[name] == "" for name in ("duration", "time_to_detect", "posts_frozen", "reply_coverage"))


def test_incidents_reminders(world, lite) -> None:
    built, cli = world
    result = cli("incidents", "reminders", "--dry-run", "--now", "2014-05-02")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(built["us-airways"].slug) == 2 and "2 reminder(s) due" in result.stderr
    result = cli("incidents", "reminders", "--now", "2014-05-02")
    assert result.exit_code == 0, result.output
    assert "2 reminder(s) sent" in result.stderr and "Policy follow-up from" in result.stdout
    assert "0 reminder(s) sent" in cli("incidents", "reminders", "--now", "2014-05-03").stderr
    from runbook import audit

    actions = [e.action for e in audit.events(make_engine(str(lite.url)), built["us-airways"].id)]
    assert actions.count("followup.reminded") == 2 and actions.count("chat.posted") == 2


def test_incidents_list_filters_and_never_lists_ledgers(world) -> None:
    built, cli = world
    result = cli("incidents", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert sorted(r["slug"] for r in listed) == sorted(i.slug for i in built.values())  # no ledger
    assert all(r["kind"] == "incident" for r in listed)
    hits = json.loads(cli("incidents", "list", "--search", "WHYISTAYED", "--json").stdout)
    assert [r["slug"] for r in hits] == [built["digiorno"].slug]
    playbook = built["red-cross"].playbook_id
    by_playbook = json.loads(cli("incidents", "list", "--playbook", playbook, "--json").stdout)
    assert {r["playbook"] for r in by_playbook} == {playbook} and built["red-cross"].slug in {
        r["slug"] for r in by_playbook
    }
    status = built["digiorno"].status
    assert all(r["status"] == status for r in json.loads(cli("incidents", "list", "--status", status, "--json").stdout))
    assert json.loads(cli("incidents", "list", "--since", "2999-01-01", "--json").stdout) == []
    text = cli("incidents", "list", "--search", "WhyIStayed")
    assert built["digiorno"].slug in text.stdout and "ledger" not in text.stdout.lower()
    bad = cli("incidents", "list", "--since", "yesterday")
    assert bad.exit_code == 1 and bad.output.strip().startswith("error: --since wants")
