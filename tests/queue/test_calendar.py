"""Content calendars: every bad row reported by file and line, good rows kept."""

from __future__ import annotations

import json
from pathlib import Path

from runbook.queue.calendar import read_calendar


def test_csv_bad_rows_by_line_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(
        "account,platform,at,text,media,author\n"
        "brand,x,2099-01-01T09:00:00Z,Good morning,,\n"
        "brand,x,tomorrow,Bad time,,\n"
        "brand,tiktok,2099-01-01T10:00:00Z,Bad platform,,\n"
        ",x,2099-01-01T10:00:00Z,No account,,\n"
        'brand,instagram,2099-01-01T11:00:00+01:00,"Text, with a comma",a.jpg;b.jpg,noor\n'
        "brand,x,2099-01-01T12:00:00Z,too,many,cells,here\n"
        "brand,x,2001-01-01T12:00:00Z,In the past,,\n",
        encoding="utf-8",
    )
    calendar = read_calendar(path, default_author="sam")
    assert [p.text for p in calendar.posts] == ["Good morning", "Text, with a comma"]
    assert calendar.posts[1].media == ("a.jpg", "b.jpg") and calendar.posts[1].author == "noor"
    assert calendar.posts[0].author == "sam" and calendar.posts[1].run_at.hour == 10  # +01:00 -> UTC
    lines = [e.split(": ", 1)[0] for e in calendar.errors]
    assert lines == [f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:7", f"{path}:8"]
    assert "not a time" in calendar.errors[0] and "tiktok" in calendar.errors[1]
    assert "account is missing" in calendar.errors[2] and "in the past" in calendar.errors[4]


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("account,platform,when,text\nbrand,x,now,hi\n", encoding="utf-8")
    assert read_calendar(path, default_author="sam").errors == [
        f"{path}:1: header lacks column(s) at (have: account, platform, when, text)"
    ]


def test_jsonl_bad_lines_by_number(tmp_path: Path) -> None:
    path = tmp_path / "calendar.jsonl"
    rows = [
        json.dumps({"account": "brand", "platform": "x", "at": "+1h", "text": "Hello"}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"account": "brand", "platform": "x", "at": "+1h", "text": "x", "colour": "red"}),
        "",
        json.dumps(
            {
                "account": "brand",
                "platform": "bluesky",
                "at": "+2h",
                "text": "Hoi",
                "language": "nl",
                "media": ["x.png"],
            }
        ),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    calendar = read_calendar(path, default_author="sam")
    assert [p.text for p in calendar.posts] == ["Hello", "Hoi"] and calendar.posts[1].language == "nl"
    assert [e.split(": ", 1)[0] for e in calendar.errors] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert "unknown key(s) colour" in calendar.errors[2]


def test_other_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "calendar.xlsx"
    path.write_bytes(b"PK")
    assert read_calendar(path, default_author="sam").errors == [f"{path}: a calendar is a .csv or .jsonl file"]
