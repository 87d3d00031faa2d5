"""The report as JSON for dashboards, and the JSON Schema it follows (docs/postmortem.schema.json,
generated from the typed model, so the two cannot drift apart unnoticed: a test compares them).
"""

from __future__ import annotations

import json
from typing import Any

from runbook.postmortem.model import SCHEMA_VERSION, Report

SCHEMA_ID = "https://runbook.example/schemas/postmortem.schema.json"


def render_json(report: Report, *, events: bool = False) -> str:
    """Metrics, sections and the timeline summary; every event only with `events` (a 1,000,000-event
    trail would otherwise make a half-gigabyte file)."""
    return report.model_dump_json(indent=2, exclude=None if events else {"timeline"}) + "\n"


def report_schema() -> dict[str, Any]:
    schema = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Post-mortem report, schema version {SCHEMA_VERSION}",
        "description": ("What `runbook postmortem INCIDENT --format json` prints. Every metric carries its status: a "
                        "number is only present when status is ok; not_recorded, withheld and pending say why not. "
                        "See docs/postmortem.md."),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"
