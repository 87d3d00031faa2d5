"""Roster validation, playbook inputs at start, the generic step kinds and third-party kinds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runbook.spec import InputError, SpecError, load_playbook, load_roster
from runbook.steps.base import StepContext, StepServices
from runbook.steps.registry import load_kinds

ROOT = Path(__file__).resolve().parents[2]


def test_roster_errors_are_gathered_with_positions(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as caught:
        load_roster("tests/spec/rosters/broken.yaml")
    assert str(caught.value).splitlines() == [
        "tests/spec/rosters/broken.yaml:4:33: people[2].email: 'not-an-email' is not in the expected form",
    ]
    # field errors come first; once fixed, the cross-checks report the rest at once
    text = (ROOT / "tests/spec/rosters/broken.yaml").read_text().replace("not-an-email", "bob@x.example")
    fixed = ROOT / "tests/spec/rosters/.broken-fixed.yaml"
    fixed.write_text(text)
    try:
        with pytest.raises(SpecError) as caught:
            load_roster(fixed.relative_to(ROOT))
        lines = str(caught.value).splitlines()
    finally:
        fixed.unlink()
    name = "tests/spec/rosters/.broken-fixed.yaml"
    assert lines == [
        f"{name}:2:97: people[0].deputy: deputy 'ghost' is not in the roster",
        f"{name}:3:10: people[1].id: duplicate person id 'ana' (first at people[0])",
        f"{name}:3:42: people[1].slack_id: Slack id U01ANA already belongs to people[0]",
        f"{name}:3:58: people[1].teams[0]: unknown team 'space'; declare it under teams:",
        f"{name}:4:56: people[2].deputy: a person cannot be their own deputy",
    ]


def test_inputs_get_defaults_types_and_every_problem_listed():
    playbook = load_playbook(ROOT / "playbooks/social-media-mistake.yaml")
    resolved = playbook.resolve_inputs({"summary": "Offensive reply"})
    assert resolved == {"summary": "Offensive reply", "offending_post": None, "accounts": ["all"]}
    assert playbook.resolve_inputs({"summary": "x", "accounts": "brand, support"})["accounts"] == ["brand", "support"]
    with pytest.raises(InputError) as caught:
        playbook.resolve_inputs({"offending_post": "not a url", "colour": "red"})
    assert caught.value.problems == [
        "colour: not an input of social-media-mistake (known: summary, offending_post, accounts)",
        "summary: required (What happened)",
        "offending_post: must be an http(s) URL",
    ]


def _ctx(decision=None, chat=None):
    from runbook.db import make_engine
    from runbook.sandbox import SandboxChannel

    events = []
    db = make_engine("sqlite://")  # the human kinds never open it
    return StepContext(
        incident_id="inc1",
        incident_slug="2026-11-25-x",
        requester="ana",
        step_id="s",
        inputs={"summary": "Offensive reply"},
        steps={},
        audit=lambda a, d=None: events.append((a, d)),
        chat=chat,
        channel="#crisis",
        decision=decision,
        services=StepServices(db=db, channel=SandboxChannel(db)),
    ), events


def test_decide_returns_the_choice_and_extra_fields_and_refuses_others():
    kind = load_kinds()["decide"]
    params = kind.params(options=["delete", "keep"])
    assert list(kind.gate_fields(params)) == ["choice"]
    out = kind.run(_ctx({"choice": "delete", "affected": "customers"})[0], params)
    assert out.choice == "delete" and out.model_dump()["affected"] == "customers"
    with pytest.raises(ValueError, match="must choose one of delete, keep"):
        kind.run(_ctx({"choice": "shrug"})[0], params)


def test_checklist_requires_every_item_unless_told_otherwise():
    kind = load_kinds()["checklist"]
    params = kind.params(items=["pause posts", "tell the team"])
    assert list(kind.gate_fields(params)) == ["item_1", "item_2"]
    assert kind.run(_ctx({"item_1": True, "item_2": True})[0], params).complete is True
    with pytest.raises(ValueError, match="not ticked off: tell the team"):
        kind.run(_ctx({"item_1": True})[0], params)
    lenient = kind.params(items=["a", "b"], require_all=False)
    assert kind.run(_ctx({"item_2": True})[0], lenient).missing == ["a"]


def test_notify_renders_and_posts_once_with_an_idempotency_key():
    class Recorder:
        def __init__(self):
            self.sent = {}

        def post(self, channel, text, *, key):
            self.sent.setdefault(key, (channel, text))
            return key

    chat = Recorder()
    kind = load_kinds()["notify"]
    params = kind.params(message="Holding statement for {{ inputs.summary }} ({{ incident.slug }})")
    ctx, _ = _ctx(chat=chat)
    out = kind.run(ctx, params)
    kind.run(ctx, params)
    assert out.text == "Holding statement for Offensive reply (2026-11-25-x)"
    assert chat.sent == {"inc1:s:notify": ("#crisis", out.text)}


def test_third_party_kinds_register_through_the_entry_point_group(tmp_path):
    pkg = tmp_path / "acme_steps.py"
    pkg.write_text(
        textwrap.dedent("""
        from runbook.steps.base import Outputs, Params, StepKind
        class P(Params):
            hello: str
        KIND = StepKind(name="acme_hello", params=P, run=lambda ctx, p: Outputs())
    """)
    )
    dist = tmp_path / "acme_steps-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-steps\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[runbook.steps]\nacme_hello = acme_steps:KIND\n")
    playbook = tmp_path / "p.yaml"
    playbook.write_text("id: p\ntitle: P\nsteps:\n  - id: a\n    uses: acme_hello\n    with: {hello: 3}\n")
    result = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "check", str(playbook)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    # the plugin's kind is known, and its own parameter model validates `with:`
    assert f"{playbook}:6:19: steps[0].with.hello: must be a valid string" in result.stderr
    assert result.returncode == 1
