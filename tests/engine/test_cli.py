"""`runbook plan / start / approve / status / cancel`: output, and one-line errors with exit 1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from runbook.audit import get_incident
from runbook.cli.main import app

from .conftest import settings_env

runner = CliRunner()


@pytest.fixture
def offline_env(tmp_path):
    """Settings of a fresh home, no Prefect server: everything refused before Prefect is needed."""
    return {**settings_env(tmp_path), "PREFECT_API_URL": "http://127.0.0.1:9/api"}


def invoke(args, env):
    return runner.invoke(app, args, env=env)


def test_plan_prints_the_dry_run(offline_env):
    result = invoke(["plan", "t-quorum", "--input", "summary=Bad post", "--as", "alma"], offline_env)
    assert result.exit_code == 0, result.output
    assert "2 distinct people holding comms_lead or legal; not the requester" in result.output
    as_json = json.loads(invoke(["plan", "t-gate", "-i", "summary=x", "--as", "ron", "--json"], offline_env).output)
    assert [s["id"] for s in as_json["steps"]] == ["hello", "go-ahead", "done"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "nope", "--as", "ron"], "error: no playbook 'nope'"),
        (["plan", "t-gate", "--as", "ron"], "error: summary: required"),
        (["start", "t-gate", "-i", "summary=x", "--as", "zed"], "error: 'zed' is not in the roster"),
        (["start", "t-gate", "-i", "summary", "--as", "ron"], "error: --input 'summary': write it as name=value"),
        (
            ["start", "t-gate", "-i", "summary=x", "--as", "ron"],
            "error: no Prefect server answers at http://127.0.0.1:9/api",
        ),
        (["approve", "nope", "go-ahead", "--as", "alma"], "error: no incident 'nope'"),
        (["status", "nope"], "error: no incident 'nope'"),
        (["cancel", "nope", "--as", "alma", "--reason", "x"], "error: no incident 'nope'"),
    ],
)
def test_refusals_are_one_line_and_exit_1(offline_env, args, message):
    result = invoke(args, offline_env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[0].startswith(message), result.output


def test_status_without_incidents(offline_env):
    assert invoke(["status"], offline_env).output.strip() == "no incidents"
    assert json.loads(invoke(["status", "--json"], offline_env).output) == []


@pytest.mark.prefect
def test_start_approve_status_cancel_through_the_cli(engine):
    env = {k: v for k, v in engine.env.items() if k.startswith(("RUNBOOK_", "PREFECT_"))}
    started = invoke(["start", "t-gate", "-i", "summary=cli test", "--as", "ron"], env)
    assert started.exit_code == 0, started.output
    slug = started.output.strip().splitlines()[0]
    engine.wait_for(get_incident(engine.services.db, slug), "signoff.requested")

    status = json.loads(invoke(["status", slug, "--json"], env).output)[0]
    assert status["status"] == "waiting" and status["pending"][0]["step"] == "go-ahead"
    assert "alma" in status["pending"][0]["signers"]

    for args, message in [
        (["approve", slug, "go-ahead", "--as", "zed"], "error: 'zed' is not in the roster"),
        (["approve", slug, "hello", "--as", "alma"], "error: step hello has no sign-off"),
        (
            ["approve", slug, "go-ahead", "--as", "alma", "-f", "colour=red"],
            "error: step go-ahead asks for no field 'colour'",
        ),
    ]:
        result = invoke(args, env)
        assert result.exit_code == 1 and result.output.startswith(message), result.output

    sent = invoke(["approve", slug, "go-ahead", "--as", "alma", "-f", "choice=hold", "--comment", "via cli"], env)
    assert sent.exit_code == 0, sent.output
    assert "approval of go-ahead by alma sent" in sent.output

    # A second incident, cancelled while it waits for sign-off.
    other = invoke(["start", "t-gate", "-i", "summary=to cancel", "--as", "ron"], env).output.strip().splitlines()[0]
    engine.wait_for(get_incident(engine.services.db, other), "signoff.requested")
    cancelled = invoke(["cancel", other, "--as", "alma", "--reason", "false alarm"], env)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    again = invoke(["cancel", other, "--as", "alma", "--reason", "twice"], env)
    assert again.exit_code == 1 and "already cancelled" in again.output
    late = invoke(["approve", other, "go-ahead", "--as", "alma", "-f", "choice=hold"], env)
    assert late.exit_code == 1 and "is cancelled; nothing awaits sign-off" in late.output

    first = get_incident(engine.services.db, slug)
    closed = engine.wait_closed(first)
    assert closed.status == "completed"
    approved = next(e for e in engine.events(first) if e.action == "signoff.approved")
    assert (approved.actor, approved.channel, approved.details["comment"]) == ("alma", "cli", "via cli")
    second = get_incident(engine.services.db, other)
    assert [e.action for e in engine.events(second)][-1] == "incident.cancelled"
    assert engine.flow_state(second) == "Cancelled"
    table = invoke(["status"], env).output
    assert slug in table and other in table


def test_plan_reports_playbook_errors_like_check(offline_env, tmp_path):
    from pathlib import Path

    bad = Path(offline_env["RUNBOOK_PLAYBOOKS_DIR"]) / "t-broken.yaml"
    bad.write_text("id: t-broken\ntitle: Broken\nroles: [comms_lead]\nsteps:\n  - id: one\n    uses: no_such_kind\n")
    result = invoke(["plan", "t-broken", "--as", "ron"], offline_env)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{bad}:6:") and "no_such_kind" in lines[0]
    assert lines[-1].startswith("error: 1 problem(s) in playbook t-broken")
    checked = invoke(["check", str(bad)], offline_env).output.strip().splitlines()[0]
    assert lines[0] == checked  # the same line `runbook check` prints


def test_the_ui_calls_the_api_where_the_browser_reaches_it_and_the_worker_log_is_quiet():
    import logging

    from runbook.engine.localserver import ui_environment, ui_url_from_api
    from runbook.engine.worker import quiet_logs

    assert ui_environment(host="127.0.0.1", port=4311) == {
        "PREFECT_UI_URL": "http://127.0.0.1:4311",
        "PREFECT_UI_API_URL": "http://127.0.0.1:4311/api",
    }
    assert ui_environment(host="0.0.0.0", port=4200)["PREFECT_UI_API_URL"] == "http://127.0.0.1:4200/api"
    behind_proxy = ui_environment(host="127.0.0.1", port=4200, public_url="https://prefect.example/")
    assert behind_proxy == {
        "PREFECT_UI_URL": "https://prefect.example",
        "PREFECT_UI_API_URL": "https://prefect.example/api",
    }
    assert ui_url_from_api("https://prefect.example/api/") == "https://prefect.example"
    quiet_logs()
    assert logging.getLogger("apscheduler.scheduler").getEffectiveLevel() == logging.WARNING
    quiet_logs(verbose=True)
    assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == logging.INFO
    quiet_logs()
