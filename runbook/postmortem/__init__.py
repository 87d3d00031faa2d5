"""The post-mortem: a report built only from an incident's verified audit trail (metrics, sign-offs,
doctrine review, deviations, policy follow-ups, timeline) in Markdown, HTML and JSON.
"""

from __future__ import annotations

from runbook.postmortem.model import Metric, Metrics, Report
from runbook.postmortem.render_html import render_html
from runbook.postmortem.render_json import render_json, report_schema
from runbook.postmortem.render_md import render_markdown
from runbook.postmortem.report import build_report, report_from_trail

FORMATS = {"md": render_markdown, "html": render_html, "json": render_json}


def render(report: Report, fmt: str, *, events: bool = False) -> str:
    """The report in `fmt` (md, html or json; `events`: the JSON lists every event); ValueError for
    anything else."""
    if fmt == "json":
        return render_json(report, events=events)
    try:
        return FORMATS[fmt](report)
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}") from None


__all__ = ["FORMATS", "Metric", "Metrics", "Report", "build_report", "render", "render_html", "render_json",
           "render_markdown", "report_from_trail", "report_schema"]
