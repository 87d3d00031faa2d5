"""The post-mortem shows what people were upset about: the concerns of the assessment, read from
the verified trail (the assess_impact step's recorded outputs), with the event as evidence."""

from __future__ import annotations

from runbook import audit
from runbook.postmortem import build_report, render


def test_the_assessment_s_concerns_become_a_section(lite) -> None:  # noqa: ANN001
    incident = audit.create_incident(
        lite,
        playbook_id="service-failure",
        playbook_version=1,
        inputs={},
        requester="ana",
        title="Storm day cancellations",
    )
    concern = {
        "id": "c1",
        "label": "cancelled flight, rebooking",
        "size": 42,
        "negative_share": 0.93,
        "samples": ["@SkyLark you cancelled my flight | no rebooking"],
        "top_authors": [{"author": "mia"}],
    }
    audit.append(
        lite,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="step.started",
        step="assess",
        details={"uses": "assess_impact", "title": "Assess"},
    )
    finished = audit.append(
        lite,
        incident_id=incident.id,
        actor="system",
        channel="flow",
        action="step.finished",
        step="assess",
        details={"outputs": {"severity": "high", "concerns": [concern, {"broken": True}]}},
    )
    report = build_report(lite, incident.id)
    [row] = report.concerns
    assert (row.id, row.size, row.top_authors, row.seq) == ("c1", 42, ["mia"], finished.seq)
    text = render(report, "md")
    assert "## What people were upset about" in text
    assert (
        f"| c1 cancelled flight, rebooking | 42 | 93% | mia | @SkyLark you cancelled my flight \\| no rebooking | {finished.seq} |"
        in text
    )
    assert render(report, "json").count('"cancelled flight, rebooking"') == 1
