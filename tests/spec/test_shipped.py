"""The shipped playbooks and roster are valid, and the spec layer stays free of Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runbook.spec import load_playbook, load_roster
from runbook.spec.schema import playbook_schema
from runbook.steps.registry import load_kinds

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["social-media-mistake", "wrong-account-post", "hashtag-misuse", "service-failure"]


def test_runbook_check_accepts_the_shipped_playbooks():
    result = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "check", "playbooks/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "OK: 4/4 playbooks valid, roster roster.yaml" in result.stdout


def test_social_media_mistake_follows_the_doctrine_order():
    playbook = load_playbook(
        ROOT / "playbooks/social-media-mistake.yaml",
        kinds=load_kinds(),
        roster=load_roster(ROOT / "roster.yaml"),
        templates_dir=ROOT / "templates",
    )
    order = [s.id for s in playbook.steps]
    doctrine = [
        "freeze",
        "assess",
        "delete-decision",
        "delete",
        "convene",
        "statement",
        "publish",
        "replies",
        "thaw",
        "review",
    ]
    assert [s for s in order if s in doctrine] == doctrine
    uses = {s.id: s.uses for s in playbook.steps}
    assert uses == {
        "freeze": "freeze_posts",
        "assess": "assess_impact",
        "delete-decision": "decide",
        "delete": "delete_post",
        "convene": "convene_teams",
        "statement": "draft_statement",
        "publish": "publish",
        "replies": "reply_individually",
        "thaw": "thaw_posts",
        "review": "postmortem",
    }
    statement = playbook.step("statement").signoff
    assert statement.quorum == 2 and statement.not_requester and set(statement.roles) == {"comms_lead", "legal"}


def test_every_shipped_playbook_carries_the_schema_comment():
    for name in SHIPPED:
        first = (ROOT / "playbooks" / f"{name}.yaml").read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../docs/playbook.schema.json"


def test_committed_schema_is_current():
    committed = json.loads((ROOT / "docs/playbook.schema.json").read_text())
    assert committed == json.loads(json.dumps(playbook_schema(load_kinds())))
    assert "checklist" in committed["$defs"]["Step"]["properties"]["uses"]["enum"]


def test_spec_and_check_import_no_prefect_slack_or_database():
    code = (
        "import sys, runbook.spec, runbook.steps.registry, runbook.cli.check;"
        "runbook.steps.registry.load_kinds();"
        "bad=[m for m in ('prefect','slack_sdk','slack_bolt','sqlalchemy','sqlmodel','apscheduler') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
