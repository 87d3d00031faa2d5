"""The post-mortem: a report built only from an incident's verified audit trail (metrics, sign-offs,
doctrine review, deviations, policy follow-ups, timeline) in Markdown, HTML and JSON.
"""

from __future__ import annotations

from typing import IO

from sqlalchemy.engine import Engine

from runbook.postmortem.model import Metric, Metrics, Report
from runbook.postmortem.render_html import render_html
from runbook.postmortem.render_json import EventSpool, render_json, report_schema, write_json
from runbook.postmortem.render_md import render_markdown
from runbook.postmortem.report import build_report

FORMATS = {"md": render_markdown, "html": render_html, "json": render_json}


def render(report: Report, fmt: str, *, events: bool = False) -> str:
    """The report in `fmt` (md, html or json; `events`: the JSON lists every event kept by
    `build_report(..., events=True)`); ValueError for anything else."""
    if fmt == "json":
        return render_json(report, events=events)
    try:
        return FORMATS[fmt](report)
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}") from None


class Written:
    """A report built for writing once (`runbook postmortem`): JSON is streamed to the file, with
    every event spooled during the build when `events` asked for them."""

    def __init__(self, engine: Engine, ref: str, fmt: str, *, events: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.fmt = fmt
        self._spool = EventSpool() if events and fmt == "json" else None
        self.report = build_report(engine, ref, events=self._spool or False)

    def write(self, out: IO[str]) -> None:
        try:
            if self.fmt == "json":
                write_json(self.report, out, events=self._spool or False)
            else:
                out.write(render(self.report, self.fmt))
        finally:
            if self._spool is not None:
                self._spool.close()


__all__ = [
    "FORMATS",
    "EventSpool",
    "Metric",
    "Metrics",
    "Report",
    "Written",
    "build_report",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "report_schema",
    "write_json",
]
