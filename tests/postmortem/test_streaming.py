"""The streamed build holds bounded state: the timeline keeps people's actions and folds machine runs
however long the trail, the fold keeps no event of the bulk actions, and `--events` spools every
event to the JSON instead of keeping them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from runbook import audit
from runbook.cli.main import app
from runbook.postmortem import build_report
from runbook.postmortem.index import Facts
from runbook.postmortem.timeline import LINES, RUN, Timeline
from runbook.postmortem.trail import Event
from tests.audit.audit_helpers import tamper
from tests.postmortem.scenarios import digiorno

T0 = datetime(2014, 9, 8, 20, 15, tzinfo=UTC)
STORM = 50_000


def _event(seq: int, action: str, step: str | None, actor: str = "system", **details: object) -> Event:
    return Event(seq, T0 + timedelta(seconds=seq), actor, "flow", action, step, dict(details))


def test_a_storm_of_machine_events_is_one_line() -> None:
    timeline = Timeline(trusted=True)
    timeline.add(_event(1, "incident.started", None, actor="sam"))
    for seq in range(2, STORM + 2):
        timeline.add(_event(seq, "reply.sent" if seq % 2 else "reply.drafted", "replies", person=f"u{seq}"))
        if seq == 100:
            held = timeline.held
    # Bounded while folding, not only at the end: the start and one growing fold.
    assert timeline.held == held == 2
    timeline.add(_event(STORM + 2, "reply.skipped", "replies", actor="noor", person="bot"))
    lines = timeline.summary(T0)
    assert [line.count for line in lines] == [1, STORM, 1]
    assert lines[1].summary.startswith(f"{STORM} machine events") and lines[2].human


def test_machine_events_of_ever_changing_steps_stay_bounded() -> None:
    """Runs too short to fold under the step rule: past LINES lines they fold whatever their step."""
    timeline = Timeline(trusted=True)
    for seq in range(1, STORM + 1):
        timeline.add(_event(seq, "chat.posted", f"step-{seq % 3}"))
    lines = timeline.summary(T0)
    assert len(lines) <= LINES + RUN + 1
    assert sum(line.count for line in lines) == STORM
    assert lines[-1].count > 1 and lines[-1].step is None  # a fold across steps belongs to none


def test_peoples_actions_never_fold() -> None:
    timeline = Timeline(trusted=True)
    for seq in range(1, 1_001):
        timeline.add(_event(seq, "chat.posted", "room", actor="ana" if seq % 100 == 0 else "system"))
    lines = timeline.summary(T0)
    assert [line.seq for line in lines if line.human] == list(range(100, 1_001, 100))


def test_the_fold_keeps_no_event_of_the_bulk_actions() -> None:
    facts = Facts()
    facts.add(_event(1, "incident.started", None, actor="sam", steps=["replies"]))
    facts.add(_event(2, "replies.planned", "replies", people=[{"person": f"u{i}"} for i in range(STORM)]))
    for seq in range(3, STORM + 3):
        facts.add(_event(seq, "reply.sent", "replies", person=f"u{seq - 3}"))
        facts.add(_event(seq, "chat.posted", "replies", text="echo"))
    kept = sum(len(events) for events in facts.by_action.values())
    assert kept == 1 and facts.count == 2 * STORM + 2
    assert len(facts.sent_first) == 50 and len(facts.sent_times) == STORM
    people = facts.people
    assert len(people) == STORM and people.count("sent") == STORM
    assert people[-1].evidence == [2, STORM + 2] and people[-1].state == "sent"
    assert list(people.evidence()) == list(range(2, STORM + 3))


def test_a_report_keeps_no_event_unless_asked(lite) -> None:
    expected = digiorno(lite)
    streamed = build_report(lite, expected.incident.id)
    kept = build_report(lite, expected.incident.id, events=True)
    assert streamed.timeline == [] and len(kept.timeline) == kept.verification.head_seq
    assert streamed.timeline_summary == kept.timeline_summary
    assert streamed.metrics == kept.metrics


def _cli(lite, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", lite.url.render_as_string(hide_password=False))
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_events_are_spooled_into_the_json(lite, monkeypatch, tmp_path: Path) -> None:
    expected = digiorno(lite)
    cli = _cli(lite, monkeypatch, tmp_path)
    out = tmp_path / "full.json"
    result = cli("postmortem", expected.incident.slug, "-f", "json", "--events", "-o", str(out))
    assert result.exit_code == 0, result.output
    full = json.loads(out.read_text())
    assert [e["seq"] for e in full["timeline"]] == list(range(1, full["verification"]["head_seq"] + 1))
    assert full["timeline"][0]["offset_seconds"] == 0
    short = json.loads(cli("postmortem", expected.incident.slug, "-f", "json").stdout)
    assert "timeline" not in short and short["metrics"] == full["metrics"]
    assert short["replies"] == full["replies"] and len(short["replies"]) == 6


def test_cli_events_of_a_tampered_trail_are_the_stored_ones(lite, monkeypatch, tmp_path: Path) -> None:
    expected = digiorno(lite)
    tamper(
        lite,
        ("UPDATE audit_event SET actor = 'mallory' WHERE incident_id = :i AND seq = 5", {"i": expected.incident.id}),
    )
    cli = _cli(lite, monkeypatch, tmp_path)
    out = tmp_path / "tampered.json"
    result = cli("postmortem", expected.incident.slug, "-f", "json", "--events", "-o", str(out))
    assert result.exit_code == 1
    data = json.loads(out.read_text())
    count = len(audit.events(lite, expected.incident.id))
    # The verified pass's spool was thrown away: each stored event once, the broken one marked.
    assert [e["seq"] for e in data["timeline"]] == list(range(1, count + 1))
    assert [e["seq"] for e in data["timeline"] if e["broken"]] == [5]
    assert all(e["offset_seconds"] is None for e in data["timeline"])
