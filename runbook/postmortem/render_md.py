"""The report as GitHub-flavoured Markdown (also the Prefect artifact). Plain string building:
every value from the trail goes through `md()`, so nobody's text can break a table or inject HTML.
"""

from __future__ import annotations

import re

from runbook.postmortem import fmt
from runbook.postmortem.model import Report

_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_MARK = {True: "✅ yes", False: "❌ no", None: "❔ not recorded"}


def md(text: object) -> str:
    flat = " ".join(str(text if text is not None else "").split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", flat)


def code(text: object) -> str:
    """Text for inside a code span, where backslash escapes do not work: backticks and pipes go."""
    return " ".join(str(text).split()).replace("`", "'").replace("|", "/")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def outcome_words(r: Report) -> str:
    if r.state == "untrusted":
        return "not shown (the trail is unverified)"
    return r.incident.outcome or "still running"


def _header(r: Report) -> list[str]:
    i = r.incident
    state = {
        "final": "final",
        "partial": "PARTIAL (incident still running)",
        "untrusted": "UNTRUSTED (audit trail failed verification)",
    }[r.state]
    out = [f"# Post-mortem: {md(i.title or i.slug)}", ""]
    for notice in r.notices:
        out += [f"> **Warning:** {md(notice)}", ""]
    v = r.verification
    verified = (
        f"verified: {v.checked} events, {v.checkpoints} checkpoint(s), head seq {v.head_seq} "
        f"`{(v.head_hash or '')[:16]}`"
        if v.ok
        else f"**FAILED: {len(v.problems)} broken entries**"
    )
    rows = [
        ["Incident", f"`{code(i.slug)}`"],
        ["Playbook", f"{md(i.playbook_id)} v{i.playbook_version}"],
        ["Severity", md(i.severity or "not recorded")],
        ["Requester", md(i.requester)],
        ["Started", fmt.when(i.started_at)],
        ["Closed", fmt.when(i.closed_at)],
        ["Duration", md(fmt.value(r.metrics.duration))],
        ["Outcome", md(outcome_words(r))],
        ["Report", state],
        ["Audit trail", verified],
        ["Generated", fmt.when(r.generated_at)],
    ]
    return out + ["## Summary", ""] + _table(["", ""], rows) + [""]


def _problems(r: Report) -> list[str]:
    if r.verification.ok:
        return []
    rows = [[str(p.seq), md(p.kind), md(p.message)] for p in r.verification.problems]
    return ["## Broken entries", ""] + _table(["seq", "kind", "what is wrong"], rows) + [""]


def _metrics(r: Report) -> list[str]:
    out = ["## Metrics", ""]
    if r.state == "untrusted":
        count = sum(len(items) for _, items in fmt.METRIC_GROUPS)
        return out + [
            f"All {count} metrics are withheld: the audit trail failed verification, so no number "
            "from it can be trusted.",
            "",
        ]
    for group, items in fmt.METRIC_GROUPS:
        rows = []
        for key, label in items:
            m = getattr(r.metrics, key)
            rows.append(
                [
                    label,
                    f"**{md(fmt.value(m))}**" if m.status == "ok" else f"_{md(fmt.value(m))}_",
                    md(m.source),
                    md(fmt.seqs(m.evidence)),
                ]
            )
        out += [f"### {group}", ""] + _table(["metric", "value", "how", "evidence (seq)"], rows) + [""]
    return out


def _signoffs(r: Report) -> list[str]:
    if r.signoffs is None:
        return []
    out = ["## Sign-offs", ""]
    if not r.signoffs:
        return out + ["No sign-off was requested.", ""]
    rows = [
        [
            md(g.step),
            fmt.when(g.requested_at),
            md(g.outcome),
            fmt.duration(g.wait_seconds),
            md(", ".join(g.approvers) or "—"),
            md(g.rejected_by or ""),
            str(len(g.refused)),
            str(len(g.escalations)),
        ]
        for g in r.signoffs
    ]
    out += _table(["step", "asked", "outcome", "wait", "approved by", "rejected by", "refused", "escalations"], rows)
    refused = [(g.step, x) for g in r.signoffs for x in g.refused]
    if refused:
        out += ["", "Refused attempts (decisions the flow did not count):", ""]
        out += [
            f"- seq {x.seq}, {fmt.when(x.at)}: {md(x.person)} via {md(x.channel)} on {md(step)}: {md(x.reason)}"
            for step, x in refused
        ]
    return out + [""]


def _replies(r: Report) -> list[str]:
    if r.replies is None or not r.replies:
        return []
    rows = [
        [
            md(p.person),
            md(p.state),
            fmt.when(p.mentioned_at),
            fmt.when(p.answered_at),
            fmt.duration(p.seconds_to_answer),
        ]
        for p in r.replies[:100]
    ]
    out = ["## Replies, person by person", ""] + _table(["person", "state", "mentioned", "answered", "waited"], rows)
    if len(r.replies) > 100:
        out += ["", f"… and {len(r.replies) - 100} more people (see the JSON report)."]
    return out + [""]


def _doctrine(r: Report) -> list[str]:
    if r.doctrine is None:
        return []
    out = ["## Doctrine review", ""]
    for step in r.doctrine:
        at = f", first at {fmt.when(step.at)}" if step.at else ""
        out += [f"### {step.number}. {md(step.title)}: {fmt.DOCTRINE_WORDS[step.status]}{at}", ""]
        for c in step.checks:
            evidence = f" (seq {fmt.seqs(c.evidence)})" if c.evidence else ""
            note = f": {md(c.note)}" if c.note else ""
            out.append(f"- {_MARK[c.done]}: {md(c.label)}{note}{evidence}")
        out.append("")
    return out


def _deviations(r: Report) -> list[str]:
    if r.deviations is None:
        return []
    if not r.deviations:
        return [
            "## Deviations",
            "",
            "None: no step skipped outside its condition, no timeout, failure or rejection.",
            "",
        ]
    rows = [[str(d.seq), fmt.when(d.at), md(d.kind), md(d.step or ""), md(d.detail)] for d in r.deviations]
    return ["## Deviations", ""] + _table(["seq", "time", "kind", "step", "detail"], rows) + [""]


def _follow_ups(r: Report) -> list[str]:
    if r.follow_ups is None:
        return []
    if not r.follow_ups:
        return ["## Policy follow-ups", "", "None recorded at the final sign-off.", ""]
    rows = []
    for f in r.follow_ups:
        reminder = "no reminder (no due date)" if f.due is None else "not scheduled"
        if f.reminder is not None:
            reminder = f"{fmt.when(f.reminder.remind_at)} (seq {f.reminder.seq})" + (
                f", sent {fmt.when(f.reminder.fired_at)}" if f.reminder.fired_at else ""
            )
        rows.append(
            [
                md(f.what),
                md(f.owner or "not named"),
                md(f.due.isoformat() if f.due else (f.due_text or "not given")),
                md(reminder),
            ]
        )
    return (
        ["## Policy follow-ups", ""]
        + _table(["what", "owner", "due", "reminder"], rows)
        + ["", f"From the sign-off at seq {r.follow_ups[0].source_seq}.", ""]
    )


def _timeline(r: Report) -> list[str]:
    out = ["## Timeline", ""]
    if r.state == "untrusted":
        out += ["Events as stored, **unverified**; rows marked ⚠ are named by a verification problem.", ""]
    else:
        out += ["People's actions are in bold.", ""]
    rows = []
    for item in r.timeline_summary:
        if item.count > 1:
            rows.append(
                [
                    f"{item.seq}–{item.last_seq}",
                    fmt.clock(item.at) + "–" + fmt.clock(item.last_at),
                    fmt.offset(item.offset_seconds),
                    md(item.actor),
                    md(item.channel),
                    md(item.action),
                    md(item.step or ""),
                    md(item.summary),
                ]
            )
            continue
        e = item
        cells = [md(e.actor), md(e.channel), md(e.action), md(e.step or ""), md(e.summary)]
        if e.human:
            cells = [f"**{c}**" if c else c for c in cells]
        seq = f"⚠ {e.seq}" if e.broken else str(e.seq)
        rows.append([seq, fmt.when(e.at), fmt.offset(e.offset_seconds)] + cells)
    return out + _table(["seq", "time", "since start", "actor", "channel", "action", "step", "what"], rows) + [""]


def _statement(r: Report) -> list[str]:
    st = r.statement
    if st is None:
        return []
    where = (
        ", ".join(
            p["platform"]
            + (f" as {p['account']}" if p.get("account") else "")
            + (f" ({p['url']})" if p.get("url") else "")
            for p in st.posts
        )
        or "?"
    )
    out = [
        "## The statement as published",
        "",
        f"Published {fmt.when(st.published_at)} (seq {st.seq}) on {md(where)}.",
        "",
    ]
    if st.text:
        out += [f"> {md(line)}" if line.strip() else ">" for line in st.text.splitlines()] + [
            "",
            f"Text from seq {st.text_seq}.",
            "",
        ]
    else:
        out += ["The trail does not hold the published text.", ""]
    return out


def render_markdown(report: Report) -> str:
    from runbook.postmortem.concerns import concerns_md

    parts = [
        _header,
        _problems,
        _statement,
        _metrics,
        concerns_md,
        _signoffs,
        _replies,
        _doctrine,
        _deviations,
        _follow_ups,
        _timeline,
    ]
    lines: list[str] = []
    for part in parts:
        lines += part(report)
    return "\n".join(lines).rstrip() + "\n"
