"""Import of mentions exported from a listening tool (CSV with a header row, or JSON Lines).

Columns map to fields by common export names (Brandwatch, Meltwater and similar) or by explicit
`column=field` pairs; each bad row is reported by its line with all its problems and the good ones
are kept, stored and deduplicated exactly like live ingestion (platform + ref). The encoding is
detected (or given, then strict); accounts are stored as handles.
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

__all__ = [
    "FIELDS",
    "ImportFileError",
    "ImportReport",
    "handle",
    "import_mentions",
    "parse_map",
    "read_text",
    "suggest_map",
]

FIELDS = (
    "ref",
    "text",
    "author",
    "author_followers",
    "created_at",
    "platform",
    "account",
    "url",
    "in_reply_to",
    "language",
    "engagement",
    "kind",
)

# Lower-cased export column names -> field. Explicit --map pairs win over these.
ALIASES: dict[str, str] = {
    **{
        name: "ref"
        for name in (
            "id",
            "ref",
            "mention id",
            "resource id",
            "document id",
            "tweet id",
            "post id",
            "guid",
            "id str",
            "message id",
            "status id",
        )
    },
    **{
        name: "text"
        for name in (
            "text",
            "full text",
            "full_text",
            "hit sentence",
            "content",
            "snippet",
            "message",
            "body",
            "post text",
            "mention",
            "tweet",
            "tweet text",
        )
    },
    **{
        name: "author"
        for name in (
            "author",
            "username",
            "user",
            "screen name",
            "screen_name",
            "handle",
            "influencer",
            "author handle",
            "user name",
            "name",
            "user screen name",
        )
    },
    **{
        name: "author_followers"
        for name in (
            "followers",
            "author followers",
            "twitter followers",
            "followers/reach",
            "reach",
            "audience",
            "followers count",
            "user followers count",
        )
    },
    **{
        name: "created_at"
        for name in (
            "date",
            "created at",
            "created",
            "published",
            "published date",
            "time",
            "timestamp",
            "datetime",
            "date published",
            "tweet created",
            "post created",
            "posted at",
        )
    },
    **{name: "platform" for name in ("platform", "page type", "network", "source type", "media type", "site type")},
    **{
        name: "account"
        for name in ("account", "brand account", "mentioned account", "query account", "brand", "airline", "company")
    },
    **{name: "url" for name in ("url", "link", "permalink", "original url")},
    **{
        name: "in_reply_to"
        for name in ("in reply to", "reply to", "parent id", "in reply to status id str", "in reply to status id")
    },
    **{name: "language" for name in ("language", "lang")},
    **{
        name: "engagement"
        for name in ("engagement", "engagements", "total engagement", "interactions", "retweet count", "retweets")
    },
    **{name: "kind" for name in ("kind", "post type", "mention type")},
}

PLATFORM_NAMES = {
    "twitter": "x",
    "x": "x",
    "tweet": "x",
    "facebook": "facebook",
    "instagram": "instagram",
    "linkedin": "linkedin",
    "mastodon": "mastodon",
    "bluesky": "bluesky",
    "bsky": "bluesky",
}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d-%b-%Y %I:%M%p",
    "%d-%b-%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %H:%M",
    "%a %b %d %H:%M:%S %z %Y",
    "%Y-%m-%d",
)
_HEADER_SEARCH = 30  # exports often start with a few lines about the query before the header
_CHUNK = 5000
MAX_FIELD = 131_072  # characters in one field (the csv module's own limit); longer is a bad row
MAX_DEPTH = 32  # nesting of a JSON Lines record; deeper is a bad row
# A file-level problem is reported on this line number (0: the file as a whole).
_FILE = 0


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
    warnings: list[str] = field(default_factory=list)
    kept_in_meta: list[str] = field(default_factory=list)  # columns with no field: kept in each mention's meta
    encoding: str | None = None
    inferred_platform: str | None = None  # from tweet-style column names, when no --platform was given

    @property
    def duplicates(self) -> int:
        return self.good - self.inserted

    # Field by field: the JSON adds `duplicates` and spells each bad line as {line, error}.
    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "header_line": self.header_line,
            "columns": self.columns,
            "rows": self.rows,
            "good": self.good,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "bad": [{"line": line, "error": error} for line, error in self.bad],
            "warnings": self.warnings,
            "kept_in_meta": self.kept_in_meta,
            "encoding": self.encoding,
            "inferred_platform": self.inferred_platform,
        }


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
            line = data[: exc.start].count(b"\n") + 1
            raise ImportFileError(
                f"{path}:{line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                f"{encoding} ({exc.reason}); give the file's real --encoding"
            ) from None
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
        line = data[: exc.start].count(b"\n") + 1
        text = (
            "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in data)
            if _has_undefined_cp1252(data)
            else data.decode("cp1252")
        )
        return text, (
            f"{path}: not UTF-8 (first at line {line}, byte 0x{data[exc.start]:02x}): read as "
            "Windows-1252/Latin-1; give --encoding to choose"
        )


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


def import_mentions(
    engine: Engine,
    path: Path,
    *,
    platform: str | None = None,
    account: str | None = None,
    mapping: Mapping[str, str] | None = None,
    analyzer: SentimentAnalyzer | None = None,
    now: datetime | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Read `path` (.csv, or .jsonl/.ndjson/.json), keep the good rows, store them; report the bad."""
    fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
    report = ImportReport(file=str(path), format=fmt)
    mapping = dict(mapping or {})
    text, warning = read_text(path, encoding)
    report.encoding = encoding or ("detected" if warning is None else "windows-1252")
    if warning:
        report.warnings.append(warning)
    records = (
        _jsonl(text, report) if fmt == "jsonl" else _csv(text, report, mapping, platform=platform, account=account)
    )
    good: list[NewMention] = []
    kept: dict[str, None] = {}
    for line, record in records:
        report.rows += 1
        try:
            mention = _mention(record, mapping, platform=platform or report.inferred_platform, account=account)
        except ValueError as exc:
            report.bad.append((line, str(exc)))
            continue
        good.append(mention)
        kept.update(dict.fromkeys(mention.meta))
    report.kept_in_meta = list(kept)
    report.good = len(good)
    for start in range(0, len(good), _CHUNK):
        report.inserted += store_mentions(
            engine, good[start : start + _CHUNK], source=f"import:{path.name}"[:200], analyzer=analyzer, now=now
        )
    return report


def _field_of(column: str, mapping: Mapping[str, str]) -> str | None:
    if column in mapping:
        return mapping[column]
    if mapping and column.strip() in mapping:
        return mapping[column.strip()]
    return ALIASES.get(_normal(column))


def _normal(column: Any) -> str:
    """Export column names compare without case, and with "_", "-" and "." read as spaces."""
    return " ".join(re.split(r"[\s_.\-]+", str(column).strip().lower()))


_SUGGEST = [
    ("text", ("text", "message", "msg", "content", "body", "tweet", "post")),
    ("created_at", ("created", "date", "time", "published", "posted", "when")),
    ("author", ("user", "author", "name", "handle", "screen")),
    ("account", ("airline", "brand", "account", "company", "page")),
    ("ref", ("id",)),
    ("author_followers", ("follower", "reach")),
    ("engagement", ("retweet", "like", "share", "engagement")),
]


def suggest_map(columns: list[str], missing: list[str]) -> str:
    """A `--map` guess for the missing fields from the columns' names, e.g. "tweet_created=created_at"."""
    guesses = []
    for target, hints in _SUGGEST:
        if target not in missing:
            continue
        names = [c for c in columns if target == "ref" or not re.search(r"(?:^|[\s_.-])id$", c.strip().lower())]
        found = next((c for h in hints for c in names if h in c.lower()), None)
        guesses.append(f"--map '{found or 'COLUMN'}={target}'")
    return " ".join(guesses)


def _csv(
    text: str, report: ImportReport, mapping: Mapping[str, str], *, platform: str | None, account: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None
    widest: tuple[int, list[str]] = (0, [])
    previous_end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the csv module's limit: that row only
            start, previous_end = previous_end + 1, reader.line_num
            if header is not None:
                report.rows += 1
                report.bad.append((start, _csv_error(exc)))
            continue
        start, previous_end = previous_end + 1, reader.line_num
        if header is None:
            if len([c for c in row if c.strip()]) > widest[0]:
                widest = (len([c for c in row if c.strip()]), row)
            fields = {_field_of(c, mapping) for c in row} - {None}
            if "text" in fields:
                header, report.header_line = row, start
                report.columns = {f: c for c in row if (f := _field_of(c, mapping))}
                tweety = next((c for c in row if "tweet" in _normal(c).split()), None)
                if platform is None and "platform" not in report.columns and tweety is not None:
                    report.inferred_platform = "x"
                    report.warnings.append(f"platform: x, from the column {tweety!r} (give --platform to choose)")
                problem = _missing_columns(
                    row, report.columns, platform=platform or report.inferred_platform, account=account
                )
                if problem:
                    report.bad.append((start, problem))
                    return
            elif start >= _HEADER_SEARCH:
                break
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            report.rows += 1
            report.bad.append((start, f"{len(row)} cells, the header has {len(header)}"))
            continue
        yield start, {header[i]: cell for i, cell in enumerate(row)}
    if header is None:
        columns = [c for c in widest[1] if c.strip()]
        seen = f"columns seen: {', '.join(columns)}" if columns else "no columns seen"
        report.bad.append(
            (
                1,
                f"no header row with a text column in the first {_HEADER_SEARCH} lines ({seen}); "
                f"name the text column: {suggest_map(columns, ['text'])}",
            )
        )


def _csv_error(exc: csv.Error) -> str:
    message = str(exc)
    if "field larger than field limit" in message:
        return f"a field is longer than {MAX_FIELD:,} characters"
    return f"not CSV: {message}"


def _missing_columns(
    header: list[str], columns: Mapping[str, str], *, platform: str | None, account: str | None
) -> str | None:
    """What the header lacks for every row to be stored, in one message with a suggested --map."""
    missing = [f for f in ("text", "created_at") if f not in columns]
    if "platform" not in columns and not platform:
        missing.append("platform")
    if "account" not in columns and not account:
        missing.append("account")
    if not missing:
        return None
    hint = suggest_map(header, [f for f in missing if f in ("text", "created_at")])
    guessed = suggest_map(header, ["account"]) if "account" in missing else ""
    options = [
        f"--{f} NAME"
        for f in ("platform", "account")
        if f in missing and f"COLUMN={f}" in (guessed if f == "account" else "COLUMN=platform")
    ]
    if guessed and "COLUMN=" not in guessed:
        options.append(guessed)
    return (
        f"missing {', '.join(missing)}: no column for {' or '.join(missing)} "
        f"(columns seen: {', '.join(c for c in header if c.strip())}); give {' '.join(p for p in [hint, *options] if p)}"
    )


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, counting no further than `limit` + 1."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _jsonl(text: str, report: ImportReport) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.rows += 1
            report.bad.append((number, f"not JSON: {exc.msg}"))
            continue
        except RecursionError:
            report.rows += 1
            report.bad.append((number, f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if not isinstance(record, dict):
            report.rows += 1
            report.bad.append((number, "not a JSON object"))
            continue
        if _depth(record) > MAX_DEPTH:
            report.rows += 1
            report.bad.append((number, f"nested deeper than {MAX_DEPTH} levels"))
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
        alias = ALIASES.get(_normal(column))
        if alias and alias not in values and value not in (None, "") and str(column) not in mapping:
            values[alias] = value
    return values


def handle(name: str) -> str:
    """An account name as a handle without its "@": "US Airways" -> "USAirways", "@KLM" -> "KLM"."""
    return re.sub(r"[^\w]", "", name.strip().lstrip("@"))


def _cell_problems(record: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Fields PostgreSQL or the reader would refuse: NUL bytes and over-long values, by column."""
    problems = []
    for key, value in record.items():
        if isinstance(value, Mapping):
            problems += _cell_problems(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            if "\x00" in value:
                problems.append(f"{prefix}{key}: contains a NUL byte")
            if len(value) > MAX_FIELD:
                problems.append(f"{prefix}{key}: {len(value):,} characters, more than {MAX_FIELD:,}")
    return problems


def _mention(
    record: Mapping[str, Any], mapping: Mapping[str, str], *, platform: str | None, account: str | None
) -> NewMention:
    """The row as a mention; every problem of the row in one ValueError ("; "-separated)."""
    problems = _cell_problems(record)
    v = _lookup(record, mapping)

    def attempt(fn, *args):  # noqa: ANN001, ANN202 - collect the error, go on with the next field
        try:
            return fn(*args)
        except ValueError as exc:
            problems.append(str(exc))
            return None

    text = str(v.get("text") or "").strip()
    if not text:
        problems.append("text: missing")
    created = attempt(parse_time, v.get("created_at"))
    plat = attempt(_platform, v.get("platform") or platform)
    acct = handle(account) if account else handle(str(v.get("account") or ""))
    if not acct:
        problems.append("account: missing (give --account or map a column to account)")
    followers = attempt(_count, v.get("author_followers"), "author_followers")
    engagement = attempt(_count, v.get("engagement"), "engagement")
    if problems:
        raise ValueError("; ".join(dict.fromkeys(problems)))
    author = str(v.get("author") or "").strip().lstrip("@") or "unknown"
    url = str(v["url"]).strip() if v.get("url") else None
    ref = str(v.get("ref") or "").strip() or _derived_ref(url, author, created, text)
    kind = str(v["kind"]).strip().lower() if v.get("kind") else None
    if kind is not None and kind not in KINDS:
        kind = {"retweet": "repost", "share": "repost", "comment": "reply"}.get(kind)
    used = set(mapping) | {c for c in record if ALIASES.get(_normal(c))}
    extra = {k: val for k, val in record.items() if k not in used and isinstance(val, (str, int, float, bool))}
    if account and v.get("account") and handle(str(v["account"])) != acct:
        extra.setdefault("account_in_file", str(v["account"]))
    return NewMention(
        platform=plat,
        ref=ref[:200],
        account=acct[:100],
        author=author[:200],
        author_followers=followers,
        text=text,
        created_at=created,
        in_reply_to=str(v["in_reply_to"]).strip()[:200] if v.get("in_reply_to") else None,
        url=url[:2000] if url else None,
        kind=kind,
        engagement=engagement,
        language=str(v["language"]).strip().lower()[:8] if v.get("language") else None,
        meta={k: val for k, val in list(extra.items())[:30]},
    )


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
