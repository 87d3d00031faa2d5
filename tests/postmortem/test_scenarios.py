"""The three doctrine incidents (tests/postmortem/scenarios.py): every metric of the report against
the scripted timings, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from runbook.postmortem import build_report
from runbook.postmortem.model import Metrics
from tests.postmortem.scenarios import SCENARIOS


@pytest.fixture(params=sorted(SCENARIOS))
def built(request, engine):
    expected = SCENARIOS[request.param](engine)
    return expected, build_report(engine, expected.incident.slug, events=True)


def test_every_metric_matches_the_scripted_timings(built) -> None:
    expected, report = built
    assert report.state == "final" and report.notices == [] and report.verification.ok
    assert set(expected.metrics) == set(Metrics.model_fields)  # the scenario states every metric
    for name, value in expected.metrics.items():
        metric = getattr(report.metrics, name)
        if value is None:
            assert (metric.status, metric.value) == ("not_recorded", None), (name, metric)
            assert metric.source, name  # says why
        else:
            assert metric.status == "ok", (name, metric)
            assert metric.value == pytest.approx(value), (name, metric)


def test_each_signoff_wait_and_who_approved(built) -> None:
    expected, report = built
    waits = {g.step: g.wait_seconds for g in report.signoffs}
    assert waits == pytest.approx(expected.waits)
    assert all(g.outcome == "granted" for g in report.signoffs)
    approvers = {g.step: g.approvers for g in report.signoffs if g.step in expected.approvers}
    assert approvers == expected.approvers


def test_doctrine_review_deviations_and_follow_ups(built) -> None:
    expected, report = built
    assert {s.number: s.status for s in report.doctrine} == expected.doctrine
    for step in report.doctrine:
        for check in step.checks:
            # Every "yes" rests on audit seq numbers that exist; "no record" carries none.
            if check.done:
                assert check.evidence and max(check.evidence) <= report.verification.head_seq, check
            if check.done is None:
                assert not check.evidence, check
    assert [d.kind for d in report.deviations] == expected.deviations
    got = [(f.what, f.owner, f.due.isoformat() if f.due else None) for f in report.follow_ups]
    assert got == expected.follow_ups
    assert sum(1 for f in report.follow_ups if f.reminder is not None) == expected.reminders


def test_timeline_has_every_event_and_marks_people(built) -> None:
    expected, report = built
    assert [e.seq for e in report.timeline] == list(range(1, report.verification.head_seq + 1))
    assert report.timeline[0].action == "incident.started" and report.timeline[0].human
    assert report.timeline[0].offset_seconds == 0
    assert all(not e.human for e in report.timeline if e.actor == "system")
    assert report.timeline[-1].action == "incident.completed"


def test_us_airways_refusals_name_who_and_why(engine) -> None:
    expected = SCENARIOS["us-airways"](engine)
    report = build_report(engine, expected.incident.id)
    refused = [(g.step, r.person, r.reason.split(" ")[2]) for g in report.signoffs for r in g.refused]
    assert refused == [("delete-decision", "sam", "none"), ("statement", "ana", "this")]
    statement = next(g for g in report.signoffs if g.step == "statement")
    assert [(a.person, a.channel) for a in statement.approvals] == [("lena", "slack"), ("bram", "ui")]
    assert statement.quorum == 2
    assert report.metrics.time_to_detect.source.startswith("first mention of the trigger post")
    assert "manual" not in report.metrics.time_to_freeze.source  # freeze.created, the automated freeze


def test_red_cross_escalation_and_manual_steps(engine) -> None:
    expected = SCENARIOS["red-cross"](engine)
    report = build_report(engine, expected.incident.id)
    gate = next(g for g in report.signoffs if g.step == "delete-decision")
    assert gate.timed_out and [e.to for e in gate.escalations] == [["eva", "bram"]]
    assert gate.outcome == "granted" and gate.approvers == ["eva"]
    assert "manual step freeze" in report.metrics.time_to_freeze.source
    assert "manual" in report.metrics.posts_frozen.source
    reminders = next(c for c in report.doctrine[5].checks if c.label.startswith("Reminders"))
    assert reminders.done is False  # a due date without a reminder: the checklist review sets none


def _bare(engine, steps=("assess", "statement", "publish")):
    from tests.postmortem.scenarios import _script

    return _script(
        engine,
        start="2026-11-23T09:00:00+00:00",
        playbook="social-media-mistake",
        requester="ana",
        title="Detection",
        inputs={},
        steps=list(steps),
    )


def test_time_to_detect_from_the_post_the_assessment_names(lite) -> None:
    from tests.postmortem.scenarios import M, listening

    s = _bare(lite)
    listening(s, 1, alert_opened=30 * M, first_mention=-20 * M, trigger="77", account="brand")  # alert after start
    s.step(
        60, 120, "assess", "assess_impact", severity="high", offending_post={"ref": "77", "platform": "x", "spread": 40}
    )
    report = build_report(lite, s.incident.id)
    m = report.metrics.time_to_detect
    assert (m.status, m.value) == ("ok", 20 * M)
    assert m.source.startswith("first mention of the trigger post 77") and m.evidence == [1, 2]
    two = report.doctrine[1]
    assert [c.done for c in two.checks] == [True, True]  # alerted; measured by assess_impact


def test_time_to_detect_is_not_invented(lite) -> None:
    from runbook import audit

    s = _bare(lite)
    # An alert the trail names but whose row is gone, and a trigger nobody answered.
    s.at(1, "listen.alert_linked", alert="0" * 32, trigger={"ref": "404", "platform": "x"})
    report = build_report(lite, s.incident.id)
    assert report.metrics.time_to_detect.status == "not_recorded"
    assert report.state == "partial" and report.metrics.duration.status == "pending"
    s.at(2, "statement.refused", step="publish", blocking=["blame_shifting"])
    s.at(3, "incident.failed", outcome="failed", reason="publish: refused")
    audit.update_incident(lite, s.incident.id, status="failed")
    report = build_report(lite, s.incident.id)
    assert report.state == "final" and report.incident.outcome == "failed"
    assert [d.kind for d in report.deviations] == ["statement_refused"]
    assert report.metrics.time_to_first_statement.status == "not_recorded"
    four = report.doctrine[3]
    assert [c.done for c in four.checks] == [False, False]  # the playbook called for both; neither happened
