"""The drill's report: the incident's post-mortem (title `[DRILL] ...`) followed by the score, each
component with its inputs, the public's negative-mention curve against the "do nothing" and
"textbook" baselines (inline SVG), and the moments that moved it. Also `drill history`.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup, escape

from runbook.drill.result import DrillResult
from runbook.drill.score import BUCKET, Curve
from runbook.postmortem.svg import WIDTH

__all__ = ["curve_svg", "drill_section_html", "drill_section_md", "history_rows", "render_drill", "render_history"]

HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 260, 48, 16, 20, 36
SERIES = (("do-nothing", "#c0392b", "6 4"), ("textbook", "#2e8b57", "6 4"), ("this drill", "#2f6fb0", ""))


def curve_svg(curve: Curve, baselines: dict[str, Curve], moments: list[dict[str, Any]] | None = None) -> Markup:
    """Negative mentions per bucket: this drill against both baselines, with the moments marked."""
    lines = {
        "do-nothing": baselines["do-nothing"].negative,
        "textbook": baselines["textbook"].negative,
        "this drill": curve.negative,
    }
    n = max(len(v) for v in lines.values())
    top = max(1, *(max(v, default=0) for v in lines.values()))
    inner_w, inner_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(i: float) -> float:
        return round(PAD_L + inner_w * i / max(1, n - 1), 1)

    def y(v: float) -> float:
        return round(PAD_T + inner_h * (1 - v / top), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="negative mentions per {BUCKET} minutes">',
        f'<line x1="{PAD_L}" y1="{y(0)}" x2="{WIDTH - PAD_R}" y2="{y(0)}" stroke="#999"/>',
        f'<text x="4" y="{PAD_T + 4}" font-size="11">{top}</text>',
        f'<text x="4" y="{y(0)}" font-size="11">0</text>',
    ]
    step = max(1, n // 8)
    for i in range(0, n, step):
        parts.append(f'<text x="{x(i)}" y="{HEIGHT - 18}" font-size="11" text-anchor="middle">T+{i * BUCKET}m</text>')
    for name, colour, dash in SERIES:
        values = lines[name]
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{extra} points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    for m in moments or []:
        xi = x(m["t"] / BUCKET)
        parts.append(
            f'<line x1="{xi}" y1="{PAD_T}" x2="{xi}" y2="{y(0)}" stroke="#8a8f98" stroke-dasharray="2 3">'
            f"<title>{escape(m['text'])}</title></line>"
        )
    legend_x = PAD_L + 8
    for k, (name, colour, dash) in enumerate(SERIES):
        lx = legend_x + k * 150
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{lx}" y1="{HEIGHT - 6}" x2="{lx + 24}" y2="{HEIGHT - 6}" stroke="{colour}" '
            f'stroke-width="2"{extra}/><text x="{lx + 30}" y="{HEIGHT - 2}" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def drill_section_md(result: DrillResult) -> str:
    s = result.score
    out = [
        "## Drill score",
        "",
        f"Scenario **{_md(result.scenario.id)}** ({_md(result.scenario.title)}), seed {result.seed}, "
        f"speed x{result.speed:g}, played by {_md(result.policy or 'the team')}.",
        "",
        f"**Score: {s.total:g} / 100** (0 = do nothing, 100 = textbook)",
        "",
        f"Audit trail verified: {'yes' if result.verified else '**NO**'}; public replayed from the observed "
        f"actions: {'identical' if result.replay_identical else '**DIFFERENT**'}.",
        "",
        "| component | points | weight | detail |",
        "|---|---|---|---|",
    ]
    for c in s.components:
        out.append(f"| {c.name} | {c.points:g} | {c.weight} | {_md(c.detail)} |")
    out += [
        "",
        "### The public's curve",
        "",
        f"Negative mentions per {BUCKET} minutes: this drill peaked at {s.curve.peak} "
        f"(do nothing {s.baselines['do-nothing'].peak}, textbook {s.baselines['textbook'].peak}); "
        f"{s.curve.area} in all (do nothing {s.baselines['do-nothing'].area}, textbook "
        f"{s.baselines['textbook'].area}).",
        "",
        "| T+ (min) | " + " | ".join(str(i * BUCKET) for i in range(len(s.curve.negative))) + " |",
        "|---|" + "---|" * len(s.curve.negative),
    ]
    for name, values in (
        ("this drill", s.curve.negative),
        ("do nothing", s.baselines["do-nothing"].negative),
        ("textbook", s.baselines["textbook"].negative),
    ):
        out.append(f"| {name} | " + " | ".join(str(v) for v in values) + " |")
    out += ["", "### Moments that moved it", ""]
    out += [f"- {_md(m['text'])}" for m in result.moments] or ["- none"]
    return "\n".join(out) + "\n"


def drill_section_html(result: DrillResult) -> Markup:
    s = result.score
    rows = "".join(
        f"<tr><td>{escape(c.name)}</td><td>{c.points:g}</td><td>{c.weight}</td><td>{escape(c.detail)}</td></tr>"
        for c in s.components
    )
    moments = "".join(f"<li>{escape(m['text'])}</li>" for m in result.moments) or "<li>none</li>"
    return Markup(
        f'<section id="drill"><h2>Drill score: {s.total:g} / 100</h2>'
        f"<p>Scenario <b>{escape(result.scenario.id)}</b> ({escape(result.scenario.title)}), seed {result.seed}, "
        f"speed x{result.speed:g}, played by {escape(result.policy or 'the team')}. 0 = do nothing, 100 = textbook. "
        f"Audit trail verified: {'yes' if result.verified else '<b>NO</b>'}; public replay: "
        f"{'identical' if result.replay_identical else '<b>DIFFERENT</b>'}.</p>"
        f"<table><tr><th>component</th><th>points</th><th>weight</th><th>detail</th></tr>{rows}</table>"
        f"<h3>The public's curve</h3>{curve_svg(s.curve, s.baselines, result.moments)}"
        f"<h3>Moments that moved it</h3><ul>{moments}</ul></section>"
    )


def render_drill(result: DrillResult, fmt: str, *, postmortem: Any = None) -> str:
    """`postmortem`: the incident's post-mortem Report, rendered first (md, html) or nested (json)."""
    from runbook.postmortem import render

    if fmt == "json":
        data = result.to_json()
        if postmortem is not None:
            data["postmortem"] = json.loads(render(postmortem, "json"))
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    if fmt == "md":
        head = (
            render(postmortem, "md").rstrip() + "\n\n"
            if postmortem is not None
            else f"# [DRILL] {result.scenario.title}\n\n"
        )
        return head + drill_section_md(result)
    if fmt == "html":
        section = drill_section_html(result)
        if postmortem is None:
            return f"<!doctype html><html><head><meta charset='utf-8'><title>[DRILL]</title></head><body>{section}</body></html>\n"
        page = render(postmortem, "html")
        at = page.rfind("</body>")
        return page[:at] + str(section) + page[at:] if at >= 0 else page + str(section)
    raise ValueError(f"format must be md, html or json, not {fmt!r}")


def history_rows(db: Any, scenario_id: str | None = None) -> list[dict[str, Any]]:
    """Every drill (optionally of one scenario), oldest first, with its score and components."""
    from runbook.audit import list_incidents
    from runbook.drill.public import Judge
    from runbook.drill.result import NotADrill, read_drill

    judges: dict[str, Judge] = {}
    rows = []
    for incident in list_incidents(db, kind="drill"):
        try:
            result = read_drill(db, incident.id, judge=None)
        except (NotADrill, KeyError, ValueError):
            continue
        if scenario_id and result.scenario.id != scenario_id:
            continue
        judges.setdefault(result.scenario.language, Judge(result.scenario.language))
        rows.append(
            {
                "incident": incident.slug,
                "scenario": result.scenario.id,
                "started_at": incident.created_at.isoformat() if incident.created_at else "",
                "status": incident.status,
                "policy": result.policy or "team",
                "seed": result.seed,
                "speed": result.speed,
                "score": result.score.total,
                "verified": result.verified,
                "components": {c.name: c.points for c in result.score.components},
                "peak": result.score.curve.peak,
                "area": result.score.curve.area,
            }
        )
    return rows


def render_history(rows: list[dict[str, Any]], fmt: str) -> str:
    names = list(rows[0]["components"]) if rows else []
    if fmt == "json":
        return json.dumps(rows, indent=2, sort_keys=True) + "\n"
    head = ["started", "drill", "scenario", "played by", "score", "change", *names]
    table: list[list[str]] = []
    previous: dict[str, float] = {}
    for r in rows:
        before = previous.get(r["scenario"])
        change = "" if before is None else f"{r['score'] - before:+g}"
        previous[r["scenario"]] = r["score"]
        table.append(
            [
                r["started_at"][:16],
                r["incident"],
                r["scenario"],
                r["policy"],
                f"{r['score']:g}",
                change,
                *(f"{r['components'][n]:g}" for n in names),
            ]
        )
    if fmt == "md":
        out = ["# Drill history", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table]
        return "\n".join(out) + "\n"
    if fmt == "html":
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table)
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Drill history</title></head><body>"
            f"<h1>Drill history</h1><table><tr>{cells}</tr>{body}</table></body></html>\n"
        )
    raise ValueError(f"format must be md, html or json, not {fmt!r}")
