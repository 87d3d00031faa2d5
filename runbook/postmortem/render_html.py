"""The report as one self-contained HTML file: inline CSS, the timeline as inline SVG, metrics in
tables, no external asset of any kind, and a print stylesheet. Rendered by a sandboxed, autoescaping
Jinja2 environment, so text from the trail can never become markup.
"""

from __future__ import annotations

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runbook.postmortem import charts, fmt
from runbook.postmortem.model import Report
from runbook.postmortem.render_md import outcome_words
from runbook.postmortem.svg import timeline_svg

CSS = """
:root { --ink:#1d232b; --muted:#5b6570; --line:#d9dde2; --warn:#9b1c1c; --warnbg:#fdecec; --ok:#1e6b3a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 24px; margin: 0 0 12px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
table.metrics { table-layout: fixed; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num.status { text-align: left; white-space: normal; }
.status { color: var(--muted); font-style: italic; }
.notice { background: var(--warnbg); color: var(--warn); border: 2px solid var(--warn); padding: 10px 14px;
          font-weight: 600; margin: 10px 0; }
.state-final { color: var(--ok); font-weight: 600; } .state-partial, .state-untrusted { color: var(--warn); font-weight: 700; }
tr.human td { font-weight: 600; background: #fffbea; }
tr.broken td { background: var(--warnbg); }
tr.fold td { color: var(--muted); }
.check-yes { color: var(--ok); } .check-no { color: var(--warn); } .check-unknown { color: var(--muted); }
.small { color: var(--muted); font-size: 12px; }
.chart { border: 1px solid var(--line); padding: 4px; margin: 6px 0 12px; }
/* The timeline fits the page: fixed columns, long words wrap (A4 and US letter, screen and print). */
table.timeline { table-layout: fixed; }
table.timeline td, table.timeline th { overflow-wrap: anywhere; word-break: break-word; }
table.timeline col.seq { width: 7%; } table.timeline col.at { width: 15%; } table.timeline col.who { width: 15%; }
table.timeline col.act { width: 19%; } table.timeline col.what { width: 44%; }
td .sub { display: block; color: var(--muted); font-size: 11px; }
blockquote.statement { white-space: pre-wrap; border-left: 4px solid var(--line); margin: 8px 0; padding: 6px 12px;
                       background: #f8f9fa; overflow-wrap: anywhere; }
svg { max-width: 100%; height: auto; }
@page { size: auto; margin: 14mm 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; padding: 0; }
  table.timeline td, table.timeline th { padding: 2px 4px; }
  h2 { break-after: avoid; } tr, .chart, .notice { break-inside: avoid; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Post-mortem: {{ r.incident.title or r.incident.slug }}</title>
<style>{{ css }}</style></head>
<body>
<h1>Post-mortem: {{ r.incident.title or r.incident.slug }}</h1>
{% for notice in r.notices %}<div class="notice" role="alert">{{ notice }}</div>{% endfor %}
<h2>Summary</h2>
<table><tbody>
<tr><th>Incident</th><td><code>{{ r.incident.slug }}</code></td></tr>
<tr><th>Playbook</th><td>{{ r.incident.playbook_id }} v{{ r.incident.playbook_version }}</td></tr>
<tr><th>Severity</th><td>{{ r.incident.severity or "not recorded" }}</td></tr>
<tr><th>Requester</th><td>{{ r.incident.requester }}</td></tr>
<tr><th>Started</th><td>{{ f.when(r.incident.started_at) }}</td></tr>
<tr><th>Closed</th><td>{{ f.when(r.incident.closed_at) }}</td></tr>
<tr><th>Duration</th><td>{{ f.value(r.metrics.duration) }}</td></tr>
<tr><th>Outcome</th><td>{{ outcome }}</td></tr>
<tr><th>Report</th><td class="state-{{ r.state }}">{{ state_words[r.state] }}</td></tr>
<tr><th>Audit trail</th><td>{% if r.verification.ok %}verified: {{ r.verification.checked }} events,
  {{ r.verification.checkpoints }} checkpoint(s), head seq {{ r.verification.head_seq }}
  <code>{{ (r.verification.head_hash or "")[:16] }}</code>{% else %}<strong>FAILED verification:
  {{ r.verification.problems|length }} broken entries</strong>{% endif %}</td></tr>
<tr><th>Generated</th><td>{{ f.when(r.generated_at) }}</td></tr>
</tbody></table>

{% if not r.verification.ok %}
<h2>Broken entries</h2>
<table><thead><tr><th>seq</th><th>kind</th><th>what is wrong</th></tr></thead><tbody>
{% for p in r.verification.problems %}<tr class="broken"><td class="num">{{ p.seq }}</td><td>{{ p.kind }}</td><td>{{ p.message }}</td></tr>{% endfor %}
</tbody></table>
{% endif %}

{% if chart %}<h2>Timeline chart</h2><div class="chart">{{ chart }}</div>{% endif %}

{% if r.statement %}
<h2>The statement as published</h2>
<p>Published {{ f.when(r.statement.published_at) }} (seq {{ r.statement.seq }}) on
{% for p in r.statement.posts %}{{ p.platform }}{% if p.account %} as {{ p.account }}{% endif %}{% if p.url %} (<code>{{ p.url }}</code>){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{% if r.statement.text %}<blockquote class="statement">{{ r.statement.text }}</blockquote>
<p class="small">Text from seq {{ r.statement.text_seq }}.</p>{% else %}<p class="status">The trail does not hold the published text.</p>{% endif %}
{% endif %}

{% if mentions_chart or replies_chart or waits_chart %}<h2>Charts</h2>{% endif %}
{% if mentions_chart %}<h3>Mentions of the brand, and their negative share</h3><div class="chart">{{ mentions_chart }}</div>{% endif %}
{% if replies_chart %}<h3>Individual replies sent</h3><div class="chart">{{ replies_chart }}</div>{% endif %}
{% if waits_chart %}<h3>Sign-off waits</h3><div class="chart">{{ waits_chart }}</div>{% endif %}

<h2>Metrics</h2>
{% if r.state == "untrusted" %}
<p class="status">All {{ groups|map(attribute=1)|map("length")|sum }} metrics are withheld: the audit trail failed verification,
so no number from it can be trusted.</p>
{% else %}
{% for group, items in groups %}
<h3>{{ group }}</h3>
<table class="metrics"><colgroup><col style="width:24%"><col style="width:14%"><col style="width:46%"><col style="width:16%"></colgroup>
<thead><tr><th>metric</th><th>value</th><th>how</th><th>evidence (seq)</th></tr></thead><tbody>
{% for key, label in items %}{% set m = r.metrics[key] %}
<tr><td>{{ label }}</td><td class="num{% if m.status != 'ok' %} status{% endif %}">{{ f.value(m) }}</td>
<td>{{ m.source }}</td><td class="small">{{ f.seqs(m.evidence) }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}
{% endif %}

{% if r.signoffs is not none %}
<h2>Sign-offs</h2>
{% if r.signoffs %}
<table><thead><tr><th>step</th><th>asked</th><th>outcome</th><th>wait</th><th>approved by</th><th>refused</th><th>escalations</th></tr></thead><tbody>
{% for g in r.signoffs %}<tr><td>{{ g.step }}</td><td>{{ f.when(g.requested_at) }}</td><td>{{ g.outcome }}{% if g.rejected_by %} by {{ g.rejected_by }}{% endif %}</td>
<td class="num">{{ f.duration(g.wait_seconds) }}</td><td>{{ g.approvers|join(", ") or "—" }}</td>
<td>{% for x in g.refused %}{{ x.person }} (seq {{ x.seq }}): {{ x.reason }}<br>{% endfor %}</td>
<td>{% for e in g.escalations %}to {{ e.to|join(", ") }} at {{ f.when(e.at) }} (seq {{ e.seq }})<br>{% endfor %}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p>No sign-off was requested.</p>{% endif %}
{% endif %}

{% if r.replies %}
<h2>Replies, person by person</h2>
<table><thead><tr><th>person</th><th>state</th><th>mentioned</th><th>answered</th><th>waited</th></tr></thead><tbody>
{% for p in r.replies[:200] %}<tr><td>{{ p.person }}</td><td>{{ p.state }}</td><td>{{ f.when(p.mentioned_at) }}</td>
<td>{{ f.when(p.answered_at) }}</td><td class="num">{{ f.duration(p.seconds_to_answer) }}</td></tr>{% endfor %}
</tbody></table>
{% if r.replies|length > 200 %}<p class="small">… and {{ r.replies|length - 200 }} more people (see the JSON report).</p>{% endif %}
{% endif %}

{% if r.doctrine is not none %}
<h2>Doctrine review</h2>
{% for s in r.doctrine %}
<h3>{{ s.number }}. {{ s.title }}: {{ doctrine_words[s.status] }}{% if s.at %}, first at {{ f.when(s.at) }}{% endif %}</h3>
<table><tbody>
{% for c in s.checks %}<tr><td class="{{ check_class[c.done] }}">{{ check_words[c.done] }}</td><td>{{ c.label }}</td>
<td>{{ c.note }}</td><td class="small">{% if c.evidence %}seq {{ f.seqs(c.evidence) }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% endfor %}
{% endif %}

{% if r.deviations is not none %}
<h2>Deviations</h2>
{% if r.deviations %}
<table><thead><tr><th>seq</th><th>time</th><th>kind</th><th>step</th><th>detail</th></tr></thead><tbody>
{% for d in r.deviations %}<tr><td class="num">{{ d.seq }}</td><td>{{ f.when(d.at) }}</td><td>{{ d.kind }}</td><td>{{ d.step or "" }}</td><td>{{ d.detail }}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p>None: no step skipped outside its condition, no timeout, failure or rejection.</p>{% endif %}
{% endif %}

{% if r.follow_ups is not none %}
<h2>Policy follow-ups</h2>
{% if r.follow_ups %}
<table><thead><tr><th>what</th><th>owner</th><th>due</th><th>reminder</th></tr></thead><tbody>
{% for u in r.follow_ups %}<tr><td>{{ u.what }}</td><td>{{ u.owner or "not named" }}</td>
<td>{{ u.due.isoformat() if u.due else (u.due_text or "not given") }}</td>
<td>{% if u.reminder %}{{ f.when(u.reminder.remind_at) }} (seq {{ u.reminder.seq }}){% if u.reminder.fired_at %}, sent {{ f.when(u.reminder.fired_at) }}{% endif %}{% elif u.due %}not scheduled{% else %}no reminder (no due date){% endif %}</td></tr>{% endfor %}
</tbody></table>
<p class="small">From the sign-off at seq {{ r.follow_ups[0].source_seq }}.</p>
{% else %}<p>None recorded at the final sign-off.</p>{% endif %}
{% endif %}

<h2>Timeline</h2>
<p class="small">{% if r.state == "untrusted" %}Events as stored, <strong>unverified</strong>; highlighted rows are named by a verification problem.{% else %}People's actions are highlighted.{% endif %}</p>
<table class="timeline"><colgroup><col class="seq"><col class="at"><col class="who"><col class="act"><col class="what"></colgroup>
<thead><tr><th>seq</th><th>time (UTC) · since start</th><th>who · via</th><th>action · step</th><th>what</th></tr></thead><tbody>
{% for item in rows %}{% if item.count > 1 %}
<tr class="fold"><td>{{ item.seq }}–{{ item.last_seq }}</td><td>{{ f.clock(item.at) }}–{{ f.clock(item.last_at) }}<span class="sub">{{ f.offset(item.offset_seconds) }}</span></td>
<td>{{ item.actor }}<span class="sub">{{ item.channel }}</span></td>
<td>{{ item.action }}<span class="sub">{{ item.step or "" }}</span></td><td>{{ item.summary }}</td></tr>
{% else %}
<tr class="{% if item.human %}human{% endif %}{% if item.broken %} broken{% endif %}"><td>{{ item.seq }}</td><td>{{ f.when(item.at) }}<span class="sub">{{ f.offset(item.offset_seconds) }}</span></td>
<td>{{ item.actor }}<span class="sub">{{ item.channel }}</span></td>
<td>{{ item.action }}<span class="sub">{{ item.step or "" }}</span></td><td>{{ item.summary }}</td></tr>
{% endif %}{% endfor %}
</tbody></table>
</body></html>
"""

_env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_template = _env.from_string(TEMPLATE)


class _Formatters:
    """The fmt helpers as plain attributes (the sandbox allows calling them, nothing else)."""

    when = staticmethod(fmt.when)
    clock = staticmethod(fmt.clock)
    value = staticmethod(fmt.value)
    duration = staticmethod(fmt.duration)
    offset = staticmethod(fmt.offset)
    seqs = staticmethod(fmt.seqs)


def _charts(report: Report) -> dict:
    s = report.series
    return {
        "mentions_chart": charts.bars(
            s.mentions, bucket_seconds=s.bucket_seconds, label="mentions", key="mentions", share=True
        )
        if s is not None and s.mentions
        else "",
        "replies_chart": charts.bars(s.replies, bucket_seconds=s.bucket_seconds, label="replies sent", key="replies")
        if s is not None
        else "",
        "waits_chart": charts.waits(report.signoffs or []),
    }


def render_html(report: Report) -> str:
    rows = report.timeline_summary
    return _template.render(
        r=report,
        css=CSS,
        f=_Formatters,
        outcome=outcome_words(report),
        chart=timeline_svg(report),
        groups=fmt.METRIC_GROUPS,
        rows=rows,
        **_charts(report),
        state_words={
            "final": "final",
            "partial": "PARTIAL: the incident is still running",
            "untrusted": "UNTRUSTED: the audit trail failed verification",
        },
        doctrine_words=fmt.DOCTRINE_WORDS,
        check_words={True: "✔ yes", False: "✘ no", None: "? not recorded"},
        check_class={True: "check-yes", False: "check-no", None: "check-unknown"},
    )
