"""Verify first: a tampered trail gives the warning, the broken entries and no number at all; a
running incident gives a partial report marked as such."""

from __future__ import annotations

import json
import re

import pytest

from runbook import audit
from runbook.postmortem import build_report, render
from runbook.postmortem.model import Metrics
from tests.audit.audit_helpers import rehash, tamper
from tests.postmortem.scenarios import H, M, digiorno, us_airways

# Durations the trusted US Airways report prints; none may appear once the trail is broken.
TRUSTED_NUMBERS = ["2h 42m", "34m 00s", "11m 30s", "6m 59s", "1h 25m", "419.5"]


def _edit_a_row(engine, incident_id: str) -> None:
    seq = next(
        e.seq for e in audit.events(engine, incident_id) if e.action == "signoff.granted" and e.step == "statement"
    )
    tamper(
        engine,
        (
            "UPDATE audit_event SET actor = 'mallory' WHERE incident_id = :i AND seq = :s",
            {"i": incident_id, "s": seq - 1},
        ),
    )


def _delete_a_row(engine, incident_id: str) -> None:
    tamper(
        engine, ("DELETE FROM audit_event WHERE incident_id = :i AND action = 'signoff.refused'", {"i": incident_id})
    )


def _forge_and_rehash(engine, incident_id: str) -> None:
    event = next(e for e in audit.events(engine, incident_id) if e.action == "signoff.approved")
    forged = rehash(event, actor="mallory")
    tamper(
        engine,
        (
            "UPDATE audit_event SET actor = 'mallory', hash = :h WHERE incident_id = :i AND seq = :s",
            {"h": forged, "i": incident_id, "s": event.seq},
        ),
    )


@pytest.mark.parametrize("attack", [_edit_a_row, _delete_a_row, _forge_and_rehash])
def test_tampered_trail_warns_and_withholds_every_number(engine, attack) -> None:
    expected = us_airways(engine)
    trusted = build_report(engine, expected.incident.id)
    assert trusted.state == "final"
    attack(engine, expected.incident.id)
    report = build_report(engine, expected.incident.id, events=True)
    assert report.state == "untrusted" and not report.verification.ok
    assert report.verification.problems
    assert "FAILED verification" in report.notices[0] and "withholds every metric" in report.notices[0]
    for name in Metrics.model_fields:
        metric = getattr(report.metrics, name)
        assert (metric.status, metric.value, metric.evidence) == ("withheld", None, []), name
    assert report.signoffs is report.doctrine is report.deviations is report.follow_ups is report.spans is None
    assert report.incident.started_at is None and report.incident.closed_at is None
    assert all(e.offset_seconds is None for e in report.timeline)
    broken = {p.seq for p in report.verification.problems}
    present = {e.seq for e in report.timeline}
    assert {e.seq for e in report.timeline if e.broken} == broken & present  # a deleted row has no line to mark

    markdown = render(report, "md")
    # The warning comes first, in plain words, before any table.
    assert markdown.splitlines()[2].startswith("> **Warning:** This incident's audit trail FAILED verification")
    assert "## Broken entries" in markdown
    html = render(report, "html")
    assert html.index('class="notice"') < html.index("<table")
    assert "<svg" not in html  # no chart of unverified times
    data = json.loads(render(report, "json"))
    assert all(m["value"] is None and m["status"] == "withheld" for m in data["metrics"].values())
    for text in (markdown, html):
        for number in TRUSTED_NUMBERS:
            assert number not in text, number


def test_trigger_left_dropped_is_still_caught(lite) -> None:
    """Drop the append-only trigger and leave it dropped: an edit is still a hash mismatch."""
    from runbook.audit import triggers

    expected = us_airways(lite)
    with lite.begin() as connection:
        triggers.remove(connection)
        connection.exec_driver_sql(
            f"UPDATE audit_event SET details = '{{}}' WHERE incident_id = '{expected.incident.id}' AND seq = 4"
        )
    report = build_report(lite, expected.incident.id)
    assert report.state == "untrusted"
    assert [(p.seq, p.kind) for p in report.verification.problems] == [(4, "hash_mismatch")]


def test_running_incident_gives_a_partial_report(engine) -> None:
    expected = digiorno(engine, stop_after=25 * M)
    report = build_report(engine, expected.incident.id)
    assert report.state == "partial" and report.verification.ok
    assert report.notices[0].startswith("PARTIAL REPORT: the incident is still running")
    m = report.metrics
    assert m.duration.status == "pending"
    assert m.time_to_first_statement.status == "pending" and "publish" in m.time_to_first_statement.source
    assert m.posts_released.status == "pending"
    assert m.replies_answered.status == "pending"
    # What has happened is reported with its numbers.
    assert (m.time_to_detect.value, m.time_to_freeze.value, m.posts_frozen.value) == (17 * M, 1, 6)
    assert (m.statement_drafts.value, m.statement_edits.value) == (1, 1)  # lena edited at +15m
    statement = next(g for g in report.signoffs if g.step == "statement")
    assert statement.outcome == "pending" and statement.wait_seconds is None and statement.approvers == ["lena"]
    assert report.incident.outcome is None and report.incident.closed_at is None
    markdown = render(report, "md")
    assert "PARTIAL (incident still running)" in markdown and "pending (still running)" in markdown
    html = render(report, "html")
    assert "PARTIAL: the incident is still running" in html
    assert re.search(r'stroke-dasharray="4 3"', html)  # open bars are drawn dashed


def test_events_appended_during_the_pass_are_not_trusted_unchecked(lite, monkeypatch) -> None:
    """An event appended while the report streams the trail (a running incident) is left out: the
    one pass is one snapshot, so the report covers exactly the events it verified."""
    from runbook.postmortem import trail

    expected = digiorno(lite, stop_after=H)
    read_row = trail._event
    appended: list[audit.AuditEvent] = []

    def read_then_append(row):
        if not appended:
            appended.append(
                audit.append(
                    lite, incident_id=expected.incident.id, actor="system", channel="flow", action="late.event"
                )
            )
        return read_row(row)

    monkeypatch.setattr(trail, "_event", read_then_append)
    report = build_report(lite, expected.incident.id, events=True)
    assert appended and report.verification.ok
    assert report.verification.head_seq == report.verification.checked == appended[0].seq - 1
    assert "late.event" not in {e.action for e in report.timeline}


def test_an_incident_without_events_says_there_is_nothing_yet(lite) -> None:
    incident = audit.create_incident(
        lite, playbook_id="social-media-mistake", playbook_version=1, inputs={}, requester="ana", title="Just created"
    )
    report = build_report(lite, incident.slug)
    assert report.state == "partial" and report.verification.ok and report.verification.head_seq is None
    assert report.notices == ["The audit trail of this incident holds no events: there is nothing to report yet."]
    assert {m.status for _, m in report.metrics} == {"not_recorded"}
    for fmt in ("md", "html", "json"):
        assert "nothing to report yet" in render(report, fmt)


def test_unknown_incident(lite) -> None:
    with pytest.raises(audit.IncidentNotFound):
        build_report(lite, "no-such-incident")
