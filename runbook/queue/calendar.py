"""Content calendars: CSV (header row) or JSONL (one object a line) files of posts to schedule.

Columns/keys: account, platform, at, text, and optionally media (`;`-separated paths in CSV, a
list in JSONL), author, language. Every bad row is reported as FILE:LINE: message; good rows
are kept.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runbook.queue.posts import NewPost, validate
from runbook.queue.times import parse_time, utcnow

REQUIRED = ("account", "platform", "at", "text")
KNOWN = set(REQUIRED) | {"media", "author", "language"}


@dataclass
class Calendar:
    posts: list[NewPost] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_calendar(path: Path, *, default_author: str, now: datetime | None = None) -> Calendar:
    now = now or utcnow()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        return Calendar(errors=[f"{path}: a calendar is a .csv or .jsonl file"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return Calendar(errors=[f"{path}: cannot read: {exc}"])
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    out = Calendar()
    for line, row, error in rows:
        if error:
            out.errors.append(f"{path}:{line}: {error}")
            continue
        post, problems = _to_post(row, default_author=default_author, source=f"{path.name}:{line}", now=now)
        if problems:
            out.errors.extend(f"{path}:{line}: {p}" for p in problems)
        else:
            out.posts.append(post)
    if not out.posts and not out.errors:
        out.errors.append(f"{path}: no posts in the file")
    return out


def _csv_rows(path: Path, text: str):
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
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than header columns
            yield line, {}, f"{len(header) + len(row[None])} cells for {len(header)} columns (quote text with commas)"
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        media = [m.strip() for m in (row.get("media") or "").split(";") if m.strip()]
        yield line, {**row, "media": media}, None


def _jsonl_rows(path: Path, text: str):
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, {}, f"not JSON: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(row, dict):
            yield line, {}, "each line must be a JSON object"
            continue
        unknown = sorted(set(row) - KNOWN)
        if unknown:
            yield line, {}, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})"
            continue
        yield line, row, None


def _to_post(row: dict[str, Any], *, default_author: str, source: str, now: datetime) -> tuple[NewPost | None, list[str]]:
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
    post = NewPost(account=str(row["account"]).strip().lstrip("@"), platform=str(row["platform"]).strip().lower(),
                   text=str(row["text"]), run_at=run_at, author=str(row.get("author") or default_author).strip(),
                   media=tuple(media), language=(str(row["language"]).strip() or None) if row.get("language") else None,
                   source=source)
    return post, validate(post, now=now)
