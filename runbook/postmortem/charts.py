"""Small inline SVG charts for the HTML report: mentions per slot with their negative share, replies
sent per slot, and how long each sign-off waited. Every text is escaped; no external asset.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from runbook.postmortem import fmt
from runbook.postmortem.model import Bucket, Signoff

W, H, LEFT, BOTTOM, TOP = 720, 170, 44, 24, 14
BLUE, RED, GREY, AMBER = "#2f6fb0", "#c0392b", "#8a8f98", "#e0a030"


def _frame(label: str, key: str, height: int = H) -> list[str]:
    return [
        f'<svg viewBox="0 0 {W} {height}" width="100%" role="img" aria-labelledby="{key}-title" class="chart-{key}">',
        f'<title id="{key}-title">{escape(label)}</title>',
        f'<rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>',
    ]


def _axis(top: int, total: int, label: str, bucket_seconds: int, slots: int) -> list[str]:
    plot = W - LEFT - 8
    out = [
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - 8}" y2="{H - BOTTOM}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" font-size="11" text-anchor="end" fill="#555">{top}</text>',
        f'<text x="{LEFT - 6}" y="{H - BOTTOM}" font-size="11" text-anchor="end" fill="#555">0</text>',
        f'<text x="{LEFT}" y="{H - 6}" font-size="11" fill="#555">start</text>',
        f'<text x="{W - 8}" y="{H - 6}" font-size="11" text-anchor="end" fill="#555">'
        f"{escape(fmt.offset(slots * bucket_seconds))} · one bar = {escape(fmt.duration(bucket_seconds))} · "
        f"{escape(label)} {total}</text>",
    ]
    del plot
    return out


def bars(buckets: list[Bucket], *, bucket_seconds: int, label: str, key: str, share: bool = False) -> Markup:
    """Bars per slot; with `share`, the negative part in red and the negative share as a line."""
    if not buckets or not any(b.count for b in buckets):
        return Markup("")
    top = max(b.count for b in buckets)
    plot_w, plot_h = W - LEFT - 8, H - TOP - BOTTOM
    step = plot_w / len(buckets)
    parts = _frame(label, key)
    points = []
    for i, b in enumerate(buckets):
        x = LEFT + i * step
        h = plot_h * b.count / top
        parts.append(
            f'<rect x="{x + 0.5:.1f}" y="{H - BOTTOM - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{BLUE}"><title>{escape(fmt.when(b.at))}: {b.count}</title></rect>'
        )
        if share and b.negative:
            nh = plot_h * b.negative / top
            parts.append(
                f'<rect x="{x + 0.5:.1f}" y="{H - BOTTOM - nh:.1f}" width="{max(step - 1, 1):.1f}" '
                f'height="{nh:.1f}" fill="{RED}"><title>{b.negative} negative</title></rect>'
            )
        if share and b.count:
            points.append(f"{x + step / 2:.1f},{H - BOTTOM - plot_h * (b.negative or 0) / b.count:.1f}")
    if share and len(points) > 1:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#222" stroke-width="1.5" '
            f'stroke-dasharray="3 2"><title>negative share (0 to 100%)</title></polyline>'
        )
    parts += _axis(top, sum(b.count for b in buckets), label, bucket_seconds, len(buckets))
    if share:
        parts.append(
            f'<rect x="{LEFT + 4}" y="2" width="10" height="10" fill="{RED}"/><text x="{LEFT + 18}" y="11" '
            'font-size="11" fill="#333">negative (dashed line: negative share, 0–100%)</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def waits(gates: list[Signoff]) -> Markup:
    """One bar per sign-off: how long it waited for its decision."""
    rows = [(g.step, g.wait_seconds, g.outcome) for g in gates if g.wait_seconds is not None]
    if not rows:
        return Markup("")
    longest = max(w for _, w, _ in rows) or 1.0
    height = TOP + 22 * len(rows) + 10
    parts = _frame("How long each sign-off waited", "waits", height)
    plot = W - 170 - 90
    for i, (step, wait, outcome) in enumerate(rows):
        y = TOP + 22 * i
        width = max(plot * wait / longest, 2)
        colour = AMBER if outcome == "granted" else RED if outcome in ("rejected", "timeout") else GREY
        parts.append(
            f'<text x="162" y="{y + 13}" font-size="12" text-anchor="end" fill="#222">{escape(step[:24])}</text>'
            f'<rect x="170" y="{y + 2}" width="{width:.1f}" height="14" fill="{colour}">'
            f"<title>{escape(step)}: {escape(outcome)} after {escape(fmt.duration(wait))}</title></rect>"
            f'<text x="{170 + width + 6:.1f}" y="{y + 13}" font-size="11" fill="#333">'
            f"{escape(fmt.duration(wait))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
