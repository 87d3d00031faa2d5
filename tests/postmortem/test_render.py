"""The three formats: HTML self-contained with the SVG timeline, Markdown tables that hold, JSON that
validates against the documented schema, and text from the trail that can never become markup."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from runbook import audit
from runbook.postmortem import build_report, render
from runbook.postmortem.render_json import report_schema, schema_text
from tests.postmortem.scenarios import SCENARIOS, digiorno

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "postmortem.schema.json"
EVIL = '<script>alert("x")</script> | **bold** [link](https://evil.example/x.png) <img src="https://evil.example/y">'


class _Assets(HTMLParser):
    """Collects every tag and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "data", "action", "poster") or (
                name == "style" and "url(" in (value or "")
            ):
                self.refs.append(f"{tag}.{name}={value}")


@pytest.fixture
def reports(lite):
    return {name: build_report(lite, build(lite).incident.id, events=True) for name, build in SCENARIOS.items()}


def test_html_is_self_contained_with_an_svg_timeline(reports) -> None:
    for name, report in reports.items():
        html = render(report, "html")
        parser = _Assets()
        parser.feed(html)
        assert parser.refs == [], name
        assert not parser.tags & {"link", "script", "img", "iframe", "object", "embed", "base"}, name
        assert "@import" not in html and "url(" not in html
        # The only URLs in the file are text the trail holds (the offending post), never a reference.
        assert "http://" not in html.replace("https://social.example", "")
        assert "https://" not in html.replace("https://social.example", "")
        assert html.count('class="timeline-chart"') == 1 and "<style>" in html and "@media print" in html
        assert 'class="chart-waits"' in html  # every scenario waited for a sign-off
        assert 'class="timeline-chart"' in html and "<rect" in html and "<circle" in html


def test_markdown_tables_hold_and_start_with_the_summary(reports) -> None:
    for name, report in reports.items():
        markdown = render(report, "md")
        assert markdown.startswith("# Post-mortem: ")
        lines = markdown.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("|---"):
                columns = line.count("|")
                j = i + 1
                while j < len(lines) and lines[j].startswith("| "):
                    cells = lines[j].replace("\\|", "")
                    assert cells.count("|") == columns, (name, lines[j])
                    j += 1
        for heading in (
            "## Summary",
            "## Metrics",
            "## Sign-offs",
            "## Doctrine review",
            "## Deviations",
            "## Policy follow-ups",
            "## Timeline",
        ):
            assert heading in markdown, (name, heading)


def test_json_validates_against_the_documented_schema(reports) -> None:
    documented = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert documented == report_schema(), "docs/postmortem.schema.json is stale: regenerate it (docs/postmortem.md)"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    validator = jsonschema.Draft202012Validator(documented, format_checker=jsonschema.FormatChecker())
    for report in reports.values():
        data = json.loads(render(report, "json"))
        validator.validate(data)
        assert data["schema_version"] == "1" and data["state"] == "final"
    broken = {**data, "metrics": {**data["metrics"], "duration": {"value": "soon", "unit": "seconds", "status": "ok"}}}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_partial_and_untrusted_reports_validate_too(lite) -> None:
    validator = jsonschema.Draft202012Validator(report_schema())
    running = digiorno(lite, stop_after=20 * 60)
    validator.validate(json.loads(render(build_report(lite, running.incident.id), "json")))


def test_text_from_the_trail_cannot_become_markup(lite) -> None:
    expected = digiorno(lite, stop_after=60 * 60)
    audit.append(
        lite,
        incident_id=expected.incident.id,
        actor="mallory<b>",
        channel="slack",
        action="signoff.refused",
        step="thaw",
        details={"reason": EVIL},
    )
    audit.append(
        lite,
        incident_id=expected.incident.id,
        actor="ana",
        channel="slack",
        action="signoff.granted",
        step="review",
        details={"approvers": ["ana"], "fields": {"follow_ups": EVIL + " (owner: x, now)"}},
    )
    report = build_report(lite, expected.incident.id)
    html = render(report, "html")
    assert "<script>" not in html and "<img" not in html and "mallory<b>" not in html
    assert "&lt;script&gt;" in html
    parser = _Assets()
    parser.feed(html)
    assert parser.refs == []
    markdown = render(report, "md")
    assert "<script>" not in markdown
    assert "<img" not in markdown
    assert "[link](" not in markdown and "\\[link\\](" in markdown  # brackets escaped: no link, no image
    assert "&lt;script&gt;" in markdown


def test_render_refuses_an_unknown_format(reports) -> None:
    with pytest.raises(ValueError, match="md, html, json"):
        render(next(iter(reports.values())), "pdf")


def test_a_reply_storm_folds_in_md_and_html_but_json_keeps_every_event(lite) -> None:
    from datetime import timedelta

    expected = digiorno(lite, stop_after=60 * 60)
    start = expected.script.t0
    for i in range(300):
        audit.append(
            lite,
            incident_id=expected.incident.id,
            actor="system",
            channel="flow",
            action="reply.sent",
            step="replies",
            details={"person": f"storm{i}"},
            now=start + timedelta(minutes=61, seconds=i),
        )
    audit.append(
        lite,
        incident_id=expected.incident.id,
        actor="noor",
        channel="slack",
        action="reply.skipped",
        step="replies",
        details={"person": "storm-bot"},
        now=start + timedelta(minutes=70),
    )
    report = build_report(lite, expected.incident.id, events=True)
    markdown = render(report, "md")
    folds = re.findall(r"\d+ machine events: [^|]*?(\d+) × reply\.sent[^|]*", markdown)
    assert max(int(n) for n in folds) >= 300
    assert len(markdown.split("## Timeline")[1].splitlines()) < 100  # one line for the storm, not 300
    assert "skipped reply to storm-bot" in markdown  # a person's action is never folded
    assert "× reply.sent" in render(report, "html")
    data = json.loads(render(report, "json"))
    # The JSON carries the summary (every event counted), the full list only with --events.
    assert "timeline" not in data and len(data["timeline_summary"]) < 100
    assert sum(line["count"] for line in data["timeline_summary"]) == report.verification.head_seq
    assert data["metrics"]["replies_answered"]["value"] == 304
    full = json.loads(render(report, "json", events=True))
    assert len(full["timeline"]) == report.verification.head_seq


def test_the_docs_name_every_action_the_report_reads() -> None:
    from runbook.postmortem import names

    docs = (Path(__file__).parents[2] / "docs" / "postmortem.md").read_text(encoding="utf-8")
    actions: set[str] = set()
    for key, value in vars(names).items():
        if key.startswith("_") or key == "ROLES":
            continue
        if isinstance(value, str) and "." in value:
            actions.add(value)
        elif isinstance(value, frozenset | dict) and all(isinstance(v, str) for v in value):
            actions |= {v for v in value if "." in v}
    assert actions and not {a for a in actions if f"`{a}`" not in docs}


def test_every_metric_has_a_label_in_the_rendered_tables() -> None:
    from runbook.postmortem.fmt import METRIC_GROUPS
    from runbook.postmortem.model import Metrics

    keys = [key for _, items in METRIC_GROUPS for key, _ in items]
    assert sorted(keys) == sorted(Metrics.model_fields) and len(keys) == len(set(keys))


def test_charts_statement_and_no_json_in_the_timeline(reports) -> None:
    import re

    digiorno = reports["digiorno"]
    html = render(digiorno, "html")
    # Replies sent over time, drawn from reply.sent; the statement shown in full, where it went.
    assert 'class="chart-replies"' in html
    sent = sum(b.count for b in digiorno.series.replies)
    assert sent == sum(1 for e in digiorno.timeline if e.action == "reply.sent") and sent > 0
    assert digiorno.statement is not None and digiorno.statement.text
    assert digiorno.statement.text in render(digiorno, "json")
    assert "The statement as published" in html and "statement published on x" in html
    assert "published on ?" not in html
    for name, report in reports.items():
        for entry in report.timeline:  # every row in words: never a JSON object
            assert not re.search(r'[{\[]"', entry.summary), (name, entry.action, entry.summary)


def test_an_unknown_action_reads_as_words() -> None:
    from runbook.postmortem.timeline import plain

    assert (
        plain({"post": "x:1", "retried": True, "tags": ["a", "b"], "meta": {"k": 1}, "once": "z"})
        == "post x:1; retried; tags a, b; meta (1 item(s))"
    )


def test_a_launched_flow_run_reads_as_words_with_its_resume_generation() -> None:
    from datetime import UTC, datetime

    from runbook.postmortem.timeline import summary
    from runbook.postmortem.trail import Event

    def launched(**details) -> Event:  # noqa: ANN003
        return Event(1, datetime.now(UTC), "system", "flow", "flow.launched", None, details)

    assert summary(launched(flow_run_id="f-1")) == "flow run created"
    assert summary(launched(flow_run_id="f-2", generation=2)) == "flow run created (resume 2)"
