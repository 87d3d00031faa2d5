"""Scenario and policy files: the shipped ones load and match the committed JSON Schema; broken ones
give every problem as FILE:LINE:COL: PATH: MESSAGE (never a traceback); the CLI around them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.drill.policy import BUILTIN, load_policy
from runbook.drill.scenario import load_scenario, scenario_files, scenario_schema
from runbook.spec import SpecError

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))


def test_five_scenarios_ship_one_of_them_dutch_and_they_name_the_schema():
    shipped = {p.stem: load_scenario(p) for p in scenario_files()}
    assert {"us-airways", "red-cross", "digiorno", "cloudbank-outage", "versmarkt-nl"} <= set(shipped)
    assert shipped["versmarkt-nl"].language == "nl"
    for path in scenario_files():
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../docs/drill-scenario.schema.json"
    committed = json.loads((ROOT / "docs/drill-scenario.schema.json").read_text())
    assert committed == json.loads(json.dumps(scenario_schema())), "regenerate docs/drill-scenario.schema.json"


def test_builtin_policies_load():
    names = {load_policy(p).name for p in BUILTIN.glob("*.yaml")}
    assert {"do-nothing", "textbook", "blame-statement", "copy-paste"} <= names


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_scenarios_report_every_problem_with_its_position(path):
    with pytest.raises(SpecError) as caught:
        load_scenario(path.relative_to(ROOT))
    expected = path.with_suffix(".expected").read_text().strip()
    assert str(caught.value) == expected


def test_cli_check_and_rehearse(tmp_path):
    runner = CliRunner()
    good = runner.invoke(app, ["drill", "check", str(ROOT / "drills/us-airways.yaml")])
    assert good.exit_code == 0 and "ok" in good.output
    bad = runner.invoke(app, ["drill", "check", str(HERE / "invalid/typos.yaml")])
    assert bad.exit_code == 1 and "typos.yaml:9:11: audiences[0].size: must be at least 1" in bad.output
    assert "Traceback" not in bad.output
    scored = runner.invoke(app, ["drill", "rehearse", "red-cross", "--policy", "do-nothing", "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["total"] == 0
    unknown = runner.invoke(app, ["drill", "rehearse", "atlantis"])
    assert unknown.exit_code == 1 and "no drill scenario 'atlantis'" in unknown.output


def test_deadlines_scale_with_the_drill_speed():
    from runbook.engine.commands import plan_for
    from runbook.engine.services import build_services
    from runbook.plan import scale_deadlines
    from runbook.settings import Settings

    services = build_services(
        Settings(
            home=Path("/tmp/unused-w16"),
            database_url="sqlite://",
            roster=ROOT / "roster.yaml",
            playbooks_dir=ROOT / "playbooks",
            templates_dir=ROOT / "templates",
        )
    )
    plan = plan_for(services=services, playbook_ref="social-media-mistake", inputs={"summary": "x"}, requester="ana")
    fast = scale_deadlines(plan, 60)
    assert plan.step("delete-decision").gate.timeout_seconds == 1800
    assert fast.step("delete-decision").gate.timeout_seconds == 30
    assert fast.step("statement").gate.timeout_seconds == 120
    assert fast.step("publish").gate.timeout_seconds is None  # no deadline stays none
    with pytest.raises(ValueError):
        scale_deadlines(plan, 0)


def test_the_drill_package_starts_without_prefect_or_slack():
    code = (
        "import sys; import runbook.drill.public, runbook.drill.score, runbook.drill.policy; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('prefect', 'slack_sdk', 'slack_bolt')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_report_and_history_refuse_what_is_not_a_drill_in_one_line(tmp_path, monkeypatch):
    from runbook.audit import create_incident
    from runbook.db import dispose_engines, init_db, make_engine

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", url)
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    db = make_engine(url)
    init_db(db)
    real = create_incident(
        db, playbook_id="social-media-mistake", playbook_version=1, inputs={}, requester="ana", title="a real one"
    )
    runner = CliRunner()
    refused = runner.invoke(app, ["drill", "report", real.slug])
    assert refused.exit_code == 1 and f"{real.slug} is not a drill" in refused.output
    assert "Traceback" not in refused.output
    missing = runner.invoke(app, ["drill", "report", "nope"])
    assert missing.exit_code == 1 and "no incident 'nope'" in missing.output
    empty = runner.invoke(app, ["drill", "history", "-f", "json"])
    assert empty.exit_code == 0 and json.loads(empty.output) == []
    dispose_engines()
