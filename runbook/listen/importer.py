"""Import of mentions exported from a listening tool (CSV with a header row, or JSON Lines).

Columns map to fields by common export names (Brandwatch, Meltwater and similar) or by explicit
`column=field` pairs; each bad row is reported by its line and the good ones are kept, stored
and deduplicated exactly like live ingestion (platform + ref).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from runbook.listen.model import KINDS, NewMention
from runbook.listen.sentiment import SentimentAnalyzer
from runbook.listen.store import store_mentions

__all__ = ["FIELDS", "ImportFileError", "ImportReport", "import_mentions", "parse_map", "read_text"]

FIELDS = ("ref", "text", "author", "author_followers", "created_at", "platform", "account", "url",
          "in_reply_to", "language", "engagement", "kind")

# Lower-cased export column names -> field. Explicit --map pairs win over these.
ALIASES: dict[str, str] = {
    **{name: "ref" for name in ("id", "ref", "mention id", "resource id", "document id", "tweet id", "post id",
                                "guid", "id_str", "message id")},
    **{name: "text" for name in ("text", "full text", "full_text", "hit sentence", "content", "snippet", "message",
                                 "body", "post text", "mention")},
    **{name: "author" for name in ("author", "username", "user", "screen name", "screen_name", "handle",
                                   "influencer", "author handle", "user name")},
    **{name: "author_followers" for name in ("followers", "author followers", "twitter followers",
                                             "followers/reach", "reach", "audience", "followers_count")},
    **{name: "created_at" for name in ("date", "created at", "created_at", "published", "published date",
                                       "time", "timestamp", "datetime", "date published")},
    **{name: "platform" for name in ("platform", "page type", "network", "source type", "media type", "site type")},
    **{name: "account" for name in ("account", "brand account", "mentioned account", "query account")},
    **{name: "url" for name in ("url", "link", "permalink", "original url")},
    **{name: "in_reply_to" for name in ("in reply to", "in_reply_to", "reply to", "parent id", "in_reply_to_status_id_str")},
    **{name: "language" for name in ("language", "lang")},
    **{name: "engagement" for name in ("engagement", "engagements", "total engagement", "interactions")},
    **{name: "kind" for name in ("kind", "post type", "mention type")},
}

PLATFORM_NAMES = {"twitter": "x", "x": "x", "tweet": "x", "facebook": "facebook", "instagram": "instagram",
                  "linkedin": "linkedin", "mastodon": "mastodon", "bluesky": "bluesky", "bsky": "bluesky"}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%b-%Y %I:%M%p",
                 "%d-%b-%Y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M",
                 "%a %b %d %H:%M:%S %z %Y", "%Y-%m-%d")
_HEADER_SEARCH = 30  # exports often start with a few lines about the query before the header
_CHUNK = 5000


@dataclass
class ImportReport:
    file: str
    format: str
    header_line: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> column used
    rows: int = 0
    good: int = 0
    inserted: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.good - self.inserted

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "header_line": self.header_line, "columns": self.columns,
                "rows": self.rows, "good": self.good, "inserted": self.inserted, "duplicates": self.duplicates,
                "bad": [{"line": line, "error": error} for line, error in self.bad]}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, no header): one line naming the file."""


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str | None]:
    """The file's text and a warning when its encoding was guessed from a fallback.

    Detects a UTF-8 or UTF-16 byte-order mark, BOM-less UTF-16, then UTF-8; anything else is read as
    Windows-1252 (Latin-1 for its five undefined bytes) with a warning. An explicit `encoding` is
    strict: undecodable bytes are an error naming the line and byte.
    """
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding), None
        except LookupError:
            raise ImportFileError(f"--encoding {encoding!r}: unknown encoding") from None
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ImportFileError(f"{path}:{line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                                  f"{encoding} ({exc.reason}); give the file's real --encoding") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), None
    head = data[:4000]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 * 3 // 2 and not head[0::2].count(0):
        return data.decode("utf-16-le", errors="replace"), None
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 * 3 // 2 and not head[1::2].count(0):
        return data.decode("utf-16-be", errors="replace"), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        text = "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
                       for b in data) if _has_undefined_cp1252(data) else data.decode("cp1252")
        return text, (f"{path}: not UTF-8 (first at line {line}, byte 0x{data[exc.start]:02x}): read as "
                      "Windows-1252/Latin-1; give --encoding to choose")


def _has_undefined_cp1252(data: bytes) -> bool:
    return any(b in data for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


def parse_map(pairs: list[str] | None) -> dict[str, str]:
    """`column=field` pairs -> {column: field}; raises ValueError naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValueError(f"--map {pair!r}: expected column=field")
        if target.strip() not in FIELDS:
            raise ValueError(f"--map {pair!r}: unknown field {target.strip()!r} (fields: {', '.join(FIELDS)})")
        out[column.strip()] = target.strip()
    return out


def import_mentions(engine: Engine, path: Path, *, platform: str | None = None, account: str | None = None,
                    mapping: Mapping[str, str] | None = None, analyzer: SentimentAnalyzer | None = None,
                    now: datetime | None = None) -> ImportReport:
    """Read `path` (.csv, or .jsonl/.ndjson/.json), keep the good rows, store them; report the bad."""
    fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
    report = ImportReport(file=str(path), format=fmt)
    mapping = dict(mapping or {})
    records = _jsonl(path, report) if fmt == "jsonl" else _csv(path, report, mapping)
    good: list[NewMention] = []
    for line, record in records:
        report.rows += 1
        try:
            good.append(_mention(record, mapping, platform=platform, account=account))
        except ValueError as exc:
            report.bad.append((line, str(exc)))
    report.good = len(good)
    for start in range(0, len(good), _CHUNK):
        report.inserted += store_mentions(engine, good[start:start + _CHUNK], source=f"import:{path.name}"[:200],
                                          analyzer=analyzer, now=now)
    return report


def _field_of(column: str, mapping: Mapping[str, str]) -> str | None:
    if column in mapping:
        return mapping[column]
    if mapping and column.strip() in mapping:
        return mapping[column.strip()]
    return ALIASES.get(column.strip().lower())


def _csv(path: Path, report: ImportReport, mapping: Mapping[str, str]) -> Iterator[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None
    previous_end = 0
    for row in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if header is None:
            fields = {_field_of(c, mapping) for c in row} - {None}
            if "text" in fields and len(fields) >= 2:
                header, report.header_line = row, start
                report.columns = {f: c for c in row if (f := _field_of(c, mapping))}
            elif start >= _HEADER_SEARCH:
                report.bad.append((1, f"no header row with a text column in the first {_HEADER_SEARCH} lines "
                                      "(use --map column=text)"))
                return
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            report.rows += 1
            report.bad.append((start, f"{len(row)} cells, the header has {len(header)}"))
            continue
        yield start, {header[i]: cell for i, cell in enumerate(row)}
    if header is None:
        report.bad.append((1, "no header row with a text column (use --map column=text)"))


def _jsonl(path: Path, report: ImportReport) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.rows += 1
                report.bad.append((number, f"not JSON: {exc.msg}"))
                continue
            if not isinstance(record, dict):
                report.rows += 1
                report.bad.append((number, "not a JSON object"))
                continue
            yield number, record


def _lookup(record: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """field -> raw value, from mapped columns (dotted paths reach into JSON objects) and aliases."""
    values: dict[str, Any] = {}
    for column, target in mapping.items():
        value: Any = record
        for part in column.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, ""):
            values[target] = value
    for column, value in record.items():
        target = ALIASES.get(str(column).strip().lower())
        if target and target not in values and value not in (None, "") and str(column) not in mapping:
            values[target] = value
    return values


def _mention(record: Mapping[str, Any], mapping: Mapping[str, str], *, platform: str | None,
             account: str | None) -> NewMention:
    v = _lookup(record, mapping)
    text = str(v.get("text") or "").strip()
    if not text:
        raise ValueError("text: missing")
    created = parse_time(v.get("created_at"))
    plat = _platform(v.get("platform") or platform)
    acct = str(v.get("account") or account or "").strip().lstrip("@")
    if not acct:
        raise ValueError("account: missing (give --account or map a column to account)")
    author = str(v.get("author") or "").strip().lstrip("@") or "unknown"
    url = str(v["url"]).strip() if v.get("url") else None
    ref = str(v.get("ref") or "").strip() or _derived_ref(url, author, created, text)
    kind = str(v["kind"]).strip().lower() if v.get("kind") else None
    if kind is not None and kind not in KINDS:
        kind = {"retweet": "repost", "share": "repost", "comment": "reply"}.get(kind)
    used = set(mapping) | {c for c in record if ALIASES.get(str(c).strip().lower())}
    extra = {k: val for k, val in record.items() if k not in used and isinstance(val, (str, int, float, bool))}
    return NewMention(
        platform=plat, ref=ref[:200], account=acct[:100], author=author[:200],
        author_followers=_count(v.get("author_followers"), "author_followers"), text=text, created_at=created,
        in_reply_to=str(v["in_reply_to"]).strip()[:200] if v.get("in_reply_to") else None,
        url=url[:2000] if url else None, kind=kind, engagement=_count(v.get("engagement"), "engagement"),
        language=str(v["language"]).strip().lower()[:8] if v.get("language") else None,
        meta={k: val for k, val in list(extra.items())[:30]})


def parse_time(value: Any) -> datetime:
    """An export's date: ISO 8601 or a common export format; no offset means UTC."""
    if value in (None, ""):
        raise ValueError("created_at: missing")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
        return datetime.fromtimestamp(seconds, UTC)
    text = str(value).strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"created_at: cannot read {text[:40]!r} as a date")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_COUNT = re.compile(r"^([0-9][0-9,. ]*)([kKmM]?)$")


def _count(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{name}: not a number: {value!r}")
    if isinstance(value, (int, float)):
        return max(0, int(value))
    match = _COUNT.match(str(value).strip())
    if not match:
        raise ValueError(f"{name}: not a number: {str(value)[:30]!r}")
    digits, suffix = match.groups()
    if suffix:
        number = float(digits.replace(",", ".").replace(" ", ""))
        return int(number * (1000 if suffix.lower() == "k" else 1_000_000))
    return int(re.sub(r"[,. ]", "", digits))


def _platform(value: Any) -> str:
    if value in (None, ""):
        raise ValueError("platform: missing (give --platform or map a column to platform)")
    name = str(value).strip().lower()
    name = PLATFORM_NAMES.get(name, name)
    if not re.fullmatch(r"[a-z0-9_.-]{1,20}", name):
        raise ValueError(f"platform: {str(value)[:30]!r} is not a platform name")
    return name


def _derived_ref(url: str | None, author: str, created: datetime, text: str) -> str:
    # Without an id the URL identifies the post; failing that, who said what when.
    basis = url or f"{author}\n{created.isoformat()}\n{text}"
    return "import:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:24]
