"""Exporting an incident's audit trail as JSON Lines or CSV, with every field needed to re-verify it.

Times are the canonical ISO-8601 UTC strings and details the canonical JSON that was hashed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from runbook.audit.chain import canonical_json, canonical_ts
from runbook.audit.models import AuditEvent

FORMATS = ("jsonl", "csv")
FIELDS = ("incident_id", "seq", "ts", "actor", "channel", "action", "step", "details", "prev_hash", "hash")


def event_record(event: AuditEvent) -> dict[str, Any]:
    """The event as JSON-ready data, in hash order (the database id is left out: not evidence)."""
    record = {name: getattr(event, name) for name in FIELDS}
    record["ts"] = canonical_ts(event.ts)
    return record


def write_events(events: Iterable[AuditEvent], out: TextIO, fmt: str) -> int:
    """Write `events` to `out` as `fmt` ("jsonl" or "csv"); return how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    records = [event_record(event) for event in events]
    if fmt == "jsonl":
        out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        return len(records)
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**record, "details": canonical_json(record["details"])} for record in records)
    return len(records)
