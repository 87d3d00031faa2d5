"""The report as JSON for dashboards, streamed field by field (the people and the events may run to
a million entries), and the JSON Schema it follows (docs/postmortem.schema.json, generated from the
typed model, so the two cannot drift apart unnoticed: a test compares them).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from pydantic import TypeAdapter

from runbook.postmortem.model import SCHEMA_VERSION, Metric, PersonReply, Report, TimelineEntry
from runbook.postmortem.replies import People

_fast: Callable[[list[Any]], str] | None
try:  # Prefect's dependency
    import orjson

    def _fast(rows: list[Any]) -> str:
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode()
except ImportError:  # pragma: no cover
    _fast = None

SCHEMA_ID = "https://runbook.example/schemas/postmortem.schema.json"
CHUNK = 2_000  # items of a long array serialised at once
_FIELDS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(field.annotation) for name, field in Report.model_fields.items() if field.annotation is not None
}
_PEOPLE: TypeAdapter[list[Any]] = TypeAdapter(list[PersonReply])
_ENTRIES: TypeAdapter[list[Any]] = TypeAdapter(list[TimelineEntry])


def render_json(report: Report, *, events: bool = False) -> str:
    """Metrics, sections and the timeline summary; every event only with `events` (the report must
    have been built keeping them, see `build_report`)."""
    out = io.StringIO()
    write_json(report, out, events=events)
    return out.getvalue()


def _indent(text: str) -> str:
    # A value dumped on its own, nested one level down: what `model_dump_json(indent=2)` writes.
    return text.replace("\n", "\n  ")


def _items(adapter: TypeAdapter[list[Any]], chunk: list[Any]) -> str:
    """`chunk` as the lines of an array nested one level down, without its brackets."""
    text = adapter.dump_json(chunk, indent=2).decode()
    return "  " + _indent(text[2:-2])


def _array(out: IO[str], items: Iterable[Any], adapter: TypeAdapter[list[Any]]) -> None:
    """A long array written a chunk at a time, never whole in memory."""
    wrote = False
    for chunk in _batched(items):
        out.write(",\n" if wrote else "[\n")
        out.write(_items(adapter, chunk))
        wrote = True
    out.write("\n  ]" if wrote else "[]")


def _people(out: IO[str], people: Sequence[PersonReply]) -> None:
    if _fast is None or not isinstance(people, People):
        _array(out, people, _PEOPLE)
        return
    # The people's plain records through orjson: byte for byte what pydantic writes for the
    # models (UTC as Z, two-space indent), several times faster at half a million people.
    wrote = False
    for chunk in _batched(people.records()):
        out.write(",\n" if wrote else "[\n")
        out.write("  " + _indent(_fast(chunk)[2:-2]))
        wrote = True
    out.write("\n  ]" if wrote else "[]")


def _batched(items: Iterable[Any]) -> Iterator[list[Any]]:  # Python 3.11 has no itertools.batched
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class EventSpool:
    """Every event of the report as JSON, written to a temporary file while the trail streams by
    (the JSON's `--events`), then copied into the report: a million events never sit in memory."""

    def __init__(self) -> None:
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._chunk: list[TimelineEntry] = []
        self._wrote = False

    def add(self, entry: TimelineEntry) -> None:
        self._chunk.append(entry)
        if len(self._chunk) == CHUNK:
            self._spill()

    def _spill(self) -> None:
        if self._chunk:
            self._file.write((",\n" if self._wrote else "") + _items(_ENTRIES, self._chunk))
            self._wrote, self._chunk = True, []

    def clear(self) -> None:
        """Forget what was spooled (the verified pass failed; the untrusted one starts over)."""
        self._file.seek(0)
        self._file.truncate()
        self._chunk, self._wrote = [], False

    def copy_to(self, out: IO[str]) -> None:
        self._spill()
        if not self._wrote:
            out.write("[]")
            return
        self._file.seek(0)
        out.write("[\n")
        shutil.copyfileobj(self._file, out, 1 << 20)
        out.write("\n  ]")

    def close(self) -> None:
        self._file.close()


def _metric(out: IO[str], metric: Metric) -> None:
    """A metric two levels down, its evidence (a list or a flat array) written a chunk at a time."""
    head = _indent(_indent(metric.model_dump_json(indent=2, exclude={"evidence"})))
    out.write(head[: -len("\n    }")] + ',\n      "evidence": ')
    evidence = metric.evidence
    if not evidence:
        out.write("[]")
    else:
        step = CHUNK * 10
        for start in range(0, len(evidence), step):
            chunk = list(evidence[start : start + step])
            text = (
                "      " + _indent(_indent(_indent(_fast(chunk)[2:-2])))
                if _fast is not None
                else "        " + ",\n        ".join(map(str, chunk))
            )
            out.write(("[\n" if start == 0 else ",\n") + text)
        out.write("\n      ]")
    out.write("\n    }")


def write_json(report: Report, out: IO[str], *, events: bool | EventSpool = False) -> None:
    """The JSON report, written field by field as `report.model_dump_json(indent=2)` would, with
    the long arrays (people, every metric's evidence, the events) streamed out in chunks."""
    out.write("{")
    for number, name in enumerate(Report.model_fields):
        if name == "timeline" and events is False:
            continue
        out.write(("\n" if number == 0 else ",\n") + f'  "{name}": ')
        value = getattr(report, name)
        if name == "timeline":
            if isinstance(events, EventSpool):
                events.copy_to(out)
            else:
                _array(out, report.timeline, _ENTRIES)
        elif name == "replies" and value is not None:
            _people(out, value)
        elif name == "metrics":
            # One metric at a time: each may rest on a million seq numbers.
            out.write("{")
            for i, (key, metric) in enumerate(value):
                out.write(("\n" if i == 0 else ",\n") + f'    "{key}": ')
                _metric(out, metric)
            out.write("\n  }")
        else:
            out.write(_indent(_FIELDS[name].dump_json(value, indent=2).decode()))
    out.write("\n}\n")


def report_schema() -> dict[str, Any]:
    schema = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Post-mortem report, schema version {SCHEMA_VERSION}",
        "description": (
            "What `runbook postmortem INCIDENT --format json` prints. Every metric carries its status: a "
            "number is only present when status is ok; not_recorded, withheld and pending say why not. "
            "See docs/postmortem.md."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"
