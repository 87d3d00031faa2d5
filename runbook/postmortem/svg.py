"""The timeline chart as inline SVG: one lane per step (running and waiting for sign-off), a lane for
the frozen queue, and a dot for every decision a person made. Every text is escaped here.
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from runbook.postmortem import fmt
from runbook.postmortem.model import Report
from runbook.postmortem.timeline import clip

WIDTH, LABEL, RIGHT, TOP, LANE = 960, 190, 24, 34, 24
_TICKS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
_COLOURS = {"step": "#2f6fb0", "wait": "#e0a030", "freeze": "#8a8f98"}
_DECISIONS = {"signoff.approved": "#2e8b57", "signoff.refused": "#c0392b", "signoff.rejected": "#c0392b"}


def _tick(span: float) -> int:
    return next((t for t in _TICKS if span / t <= 8), _TICKS[-1])


def timeline_svg(report: Report) -> Markup:
    """Empty markup when there is nothing to draw (no spans, or an untrusted report)."""
    spans = report.spans or []
    if not spans:
        return Markup("")
    last = report.timeline_summary[-1].last_at if report.timeline_summary else spans[0].start
    t0 = min([s.start for s in spans] + ([report.incident.started_at] if report.incident.started_at else []))
    t1 = max([last] + [s.end for s in spans if s.end is not None])
    total = max((t1 - t0).total_seconds(), 1.0)
    lanes: list[str] = []
    for span in spans:
        if span.lane not in lanes:
            lanes.append(span.lane)
    lanes.sort(key=lambda lane: lane != "queue frozen")  # the silence first, then steps in order
    height = TOP + LANE * len(lanes) + 40
    plot = WIDTH - LABEL - RIGHT

    def x(ts: datetime) -> float:
        return LABEL + plot * (ts - t0).total_seconds() / total

    def y(lane: str) -> float:
        return TOP + LANE * lanes.index(lane)

    # No xmlns: the HTML parser puts inline <svg> in the SVG namespace, and the file stays free of URLs.
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="tl-title" class="timeline-chart">',
        f'<title id="tl-title">Timeline of {escape(report.incident.slug)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    step = _tick(total)
    for n in range(int(total // step) + 1):
        tx = LABEL + plot * n * step / total
        parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height - 34}" stroke="#e3e6ea"/>')
        parts.append(
            f'<text x="{tx:.1f}" y="{TOP - 12}" font-size="11" text-anchor="middle" fill="#555">'
            f"{escape(fmt.offset(n * step))}</text>"
        )
    for lane in lanes:
        ly = y(lane)
        parts.append(
            f'<text x="{LABEL - 8}" y="{ly + 16}" font-size="12" text-anchor="end" fill="#222">'
            f"{escape(clip(lane, 26))}</text>"
        )
        parts.append(
            f'<line x1="{LABEL}" y1="{ly + LANE - 1}" x2="{WIDTH - RIGHT}" y2="{ly + LANE - 1}" stroke="#f0f1f3"/>'
        )
    for span in spans:
        sx, ex = x(span.start), x(span.end or t1)
        inset = 8 if span.kind == "wait" else 4
        dash = ' stroke="#333" stroke-dasharray="4 3"' if span.end is None else ""
        length = fmt.duration((span.end - span.start).total_seconds()) if span.end else "still open"
        parts.append(
            f'<rect x="{sx:.1f}" y="{y(span.lane) + inset:.1f}" width="{max(ex - sx, 2):.1f}" '
            f'height="{LANE - 2 * inset}" rx="2" fill="{_COLOURS[span.kind]}"{dash}>'
            f"<title>{escape(span.label)}: {escape(length)}</title></rect>"
        )
    for entry in report.timeline_summary:  # people's decisions never fold
        colour = _DECISIONS.get(entry.action)
        if colour is None or not entry.human or entry.step not in lanes:
            continue
        parts.append(
            f'<circle cx="{x(entry.at):.1f}" cy="{y(entry.step) + LANE / 2:.1f}" r="4.5" fill="{colour}" '
            f'stroke="#fff"><title>seq {entry.seq}: {escape(entry.actor)} {escape(entry.summary)}</title></circle>'
        )
    legend = [
        ("step running", _COLOURS["step"]),
        ("waiting for sign-off", _COLOURS["wait"]),
        ("queue frozen", _COLOURS["freeze"]),
        ("approved", _DECISIONS["signoff.approved"]),
        ("refused or rejected", _DECISIONS["signoff.refused"]),
    ]
    lx = LABEL
    for label, colour in legend:
        parts.append(
            f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{height - 12}" font-size="11" fill="#333">{label}</text>'
        )
        lx += 30 + 7 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))
