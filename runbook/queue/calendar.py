"""Content calendars: CSV (header row) or JSONL (one object a line) files of posts to schedule.

Columns/keys: account, platform, at, text, and optionally media (`;`-separated paths in CSV, a
list in JSONL), author, language. Every bad row is reported as FILE:LINE: message; good rows
are kept: a row with an oversized field, a NUL byte, bytes that are not in the file's encoding,
nesting, or a media path that is not a regular file under the size limit is one bad row.

The encoding: UTF-8 (with or without a BOM) unless `encoding` is given; undecodable bytes are
errors of their rows, never replacement characters. An explicit encoding refuses the file at the
first undecodable byte, with its line and column.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runbook.queue.posts import NewPost, validate
from runbook.queue.times import parse_time, utcnow

REQUIRED = ("account", "platform", "at", "text")
KNOWN = set(REQUIRED) | {"media", "author", "language"}
MAX_FIELD = 65_536  # characters per field: more than any platform's post length
MAX_MEDIA = 20  # files per post
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape kept because they did not decode


@dataclass
class Calendar:
    posts: list[NewPost] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_calendar(
    path: Path, *, default_author: str, now: datetime | None = None, encoding: str | None = None
) -> Calendar:
    now = now or utcnow()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        return Calendar(errors=[f"{path}: a calendar is a .csv or .jsonl file"])
    try:
        text = decode(path, encoding)
    except (OSError, ValueError, LookupError) as exc:
        return Calendar(errors=[f"{path}: cannot read: {exc}"])
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    out = Calendar()
    for line, row, error in rows:
        error = error or _row_problem(row)
        if error:
            out.errors.append(f"{path}:{line}: {error}")
            continue
        post, problems = _to_post(row, default_author=default_author, source=f"{path.name}:{line}", now=now)
        if post is not None and not problems:  # a calendar row's media are file paths (checked in _to_post)
            problems = [p for p in (_media_problem(path.parent, m) for m in post.media if isinstance(m, str)) if p]
        if problems or post is None:
            out.errors.extend(f"{path}:{line}: {p}" for p in problems)
        else:
            out.posts.append(post)
    if not out.posts and not out.errors:
        out.errors.append(f"{path}: no posts in the file")
    return out


def decode(path: Path, encoding: str | None) -> str:
    """The file's text. Without `encoding`: UTF-8 (BOM optional), undecodable bytes kept as
    surrogate escapes for `_row_problem` to report per row. With it: strict, one clear error."""
    raw = path.read_bytes()
    if encoding is None:
        return raw.decode("utf-8-sig", errors="surrogateescape")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ValueError(f"line {line}, column {column}: byte 0x{raw[exc.start]:02X} is not valid {encoding}") from None


def _row_problem(row: dict[str, Any]) -> str | None:
    """One sentence on what makes a parsed row unusable before it is even looked at, or None."""
    for key, value in row.items():
        values = value if key == "media" and isinstance(value, list) else [value]
        for item in values:
            if item is None or isinstance(item, (bool, int, float)):
                continue
            if not isinstance(item, str):
                return f"{key} must be {'a list of file paths' if key == 'media' else 'a string'}"
            bad = _ESCAPED.search(item)
            if bad:
                return (
                    f"{key} has byte 0x{ord(bad.group()) - 0xDC00:02X}, which is not UTF-8; "
                    "pass --encoding (e.g. latin-1) if the file is in another encoding"
                )
            if "\x00" in item:
                return f"{key} contains a NUL byte"
            if len(item) > MAX_FIELD:
                return f"{key} is {len(item):,} characters; the limit is {MAX_FIELD:,}"
    if isinstance(row.get("media"), list) and len(row["media"]) > MAX_MEDIA:
        return f"{len(row['media'])} media files; the limit is {MAX_MEDIA}"
    return None


def _media_problem(base: Path, item: str) -> str | None:
    from runbook.checks.media import media_problem

    media = Path(item)
    media = media if media.is_absolute() else base / media
    # A missing file is the checks' business (a finding on the post); one that exists must be a
    # regular file under the size limit, or hashing it would hang (/dev/zero) or fail.
    return media_problem(media) if media.exists() or media.is_symlink() else None


# (line, row, problem) for every row of a calendar file; a row with a problem is empty.
_Rows = Iterator[tuple[int, dict[str, Any], str | None]]


def _csv_rows(path: Path, text: str) -> _Rows:
    # Fields are measured per row (MAX_FIELD) instead of csv's own limit, which raises out of the
    # iteration and would end the import at the first long field.
    csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, len(text) + 1)))
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        yield 1, {}, f"header lacks column(s) {', '.join(missing)} (have: {', '.join(header) or 'none'})"
        return
    unknown = [c for c in header if c not in KNOWN]
    if unknown:
        yield 1, {}, f"unknown column(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})"
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, {}, f"not CSV: {exc}"
            continue
        line = reader.line_num
        if None in row:  # more cells than header columns
            yield line, {}, f"{len(header) + len(row[None])} cells for {len(header)} columns (quote text with commas)"
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        media = [m.strip() for m in (row.get("media") or "").split(";") if m.strip()]
        yield line, {**row, "media": media}, None


def _jsonl_rows(path: Path, text: str) -> _Rows:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        if len(raw) > 4 * MAX_FIELD:
            yield line, {}, f"the line is {len(raw):,} characters; the limit is {4 * MAX_FIELD:,}"
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, {}, f"not JSON: {exc.msg} at column {exc.colno}"
            continue
        except RecursionError:
            yield line, {}, "nested too deeply (a calendar row is one flat object)"
            continue
        if not isinstance(row, dict):
            yield line, {}, "each line must be a JSON object"
            continue
        unknown = sorted(set(row) - KNOWN)
        if unknown:
            yield line, {}, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})"
            continue
        yield line, row, None


def _to_post(
    row: dict[str, Any], *, default_author: str, source: str, now: datetime
) -> tuple[NewPost | None, list[str]]:
    problems = [f"{name} is missing" for name in REQUIRED if not str(row.get(name) or "").strip()]
    if problems:
        return None, problems
    try:
        run_at = parse_time(str(row["at"]), now=now)
    except ValueError as exc:
        return None, [str(exc)]
    media = row.get("media") or []
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        return None, ["media must be a list of file paths"]
    post = NewPost(
        account=str(row["account"]).strip().lstrip("@"),
        platform=str(row["platform"]).strip().lower(),
        text=str(row["text"]),
        run_at=run_at,
        author=str(row.get("author") or default_author).strip(),
        media=tuple(media),
        language=(str(row["language"]).strip() or None) if row.get("language") else None,
        source=source,
    )
    return post, validate(post, now=now)
