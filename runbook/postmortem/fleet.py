"""The same metrics across incidents (`runbook incidents report`): one row per incident, oldest first,
so a team sees whether it is getting faster. A number is written only when its status is ok; an
incident whose trail fails verification contributes no number at all.
"""

from __future__ import annotations

import csv
import statistics
from datetime import datetime
from typing import IO, Any

from sqlalchemy.engine import Engine

from runbook.audit import list_incidents
from runbook.postmortem.model import Metrics, Report
from runbook.postmortem.report import build_report

INCIDENT_COLUMNS = [
    "slug",
    "title",
    "playbook",
    "severity",
    "status",
    "started_at",
    "closed_at",
    "report_state",
    "verified",
    "broken_entries",
]
METRIC_COLUMNS = list(Metrics.model_fields)
COLUMNS = INCIDENT_COLUMNS + METRIC_COLUMNS
# The headline numbers, whose medians across incidents show the trend.
TREND = ["time_to_detect", "time_to_freeze", "time_to_first_statement", "signoff_wait_median", "reply_coverage"]


def row(report: Report) -> dict[str, Any]:
    i = report.incident
    out: dict[str, Any] = {
        "slug": i.slug,
        "title": i.title,
        "playbook": f"{i.playbook_id} v{i.playbook_version}",
        "severity": i.severity or "",
        "status": i.status,
        "started_at": i.started_at.isoformat() if i.started_at else "",
        "closed_at": i.closed_at.isoformat() if i.closed_at else "",
        "report_state": report.state,
        "verified": report.verification.ok,
        "broken_entries": len(report.verification.problems),
    }
    for name, metric in report.metrics:
        out[name] = metric.value if metric.status == "ok" else None
    return out


def reports(
    engine: Engine,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    kinds: tuple[str, ...] = ("incident",),
) -> list[Report]:
    """Reports of real incidents (not ledgers; drills only when `kinds` says so)."""
    found = []
    for incident in list_incidents(engine, kind=kinds):
        if since is not None and incident.created_at < since:
            continue
        found.append(build_report(engine, incident.id, now=now))
    return found


def trend(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Median of each headline metric over the incidents that recorded it."""
    out: dict[str, float | None] = {}
    for name in TREND:
        values = [r[name] for r in rows if r.get(name) is not None]
        out[name] = statistics.median(values) if values else None
    return out


def write_csv(rows: list[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
    return len(rows)
