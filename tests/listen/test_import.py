"""Import of listening-tool exports: column names of common exports, --map, bad rows by line, good
rows kept, deduplicated like live ingestion; the `runbook mentions import` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.listen import import_mentions, mentions_in_window, parse_map, store_mentions
from runbook.listen.model import NewMention

WIDE = dict(since=datetime(2000, 1, 1, tzinfo=UTC), until=datetime(2100, 1, 1, tzinfo=UTC))

# A Brandwatch-style export: a few lines about the query before the header row.
BRANDWATCH = '''\
Brandwatch export,,,,,,
Query: DiGiorno,,,,,,
"Date range: 2014-09-08 - 2014-09-09",,,,,,
,,,,,,
Date,Mention Id,Author,Full Text,Page Type,Twitter Followers,Url
2014-09-08 22:45:00.0,501,amy,"@DiGiorno #WhyIStayed is about domestic violence. How could you joke about that?",twitter,1200,https://x.example/amy/status/501
2014-09-08 22:46:00.0,502,ben,"@DiGiorno read a hashtag before you use it, ""seriously""",twitter,"12,300",https://x.example/ben/status/502
not a date,503,cas,"@DiGiorno delete it",twitter,10,https://x.example/cas/status/503
2014-09-08 22:47:00.0,504,dee,,twitter,10,https://x.example/dee/status/504
2014-09-08 22:48:00.0,505,eve,"@DiGiorno multi
line text",twitter,1.2K,https://x.example/eve/status/505
2014-09-08 22:49:00.0,506,fay,"@DiGiorno too many followers",twitter,lots,https://x.example/fay/status/506
2014-09-08 22:50:00.0,507,gus,"@DiGiorno thanks for answering everyone personally",facebook,90,https://fb.example/507
'''


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_brandwatch_style_csv_keeps_good_rows_and_reports_bad_ones_by_line(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    path = write(tmp_path, "brandwatch.csv", BRANDWATCH)
    report = import_mentions(sqlite_engine, path, account="DiGiorno")
    assert report.header_line == 5
    assert report.columns["text"] == "Full Text" and report.columns["ref"] == "Mention Id"
    assert report.bad == [(8, "created_at: cannot read 'not a date' as a date"), (9, "text: missing"),
                          (12, "author_followers: not a number: 'lots'")]
    assert (report.rows, report.good, report.inserted) == (7, 4, 4)
    stored = {m.ref: m for m in mentions_in_window(sqlite_engine, **WIDE)}
    assert set(stored) == {"501", "502", "505", "507"}
    assert stored["502"].author_followers == 12300 and stored["505"].author_followers == 1200
    assert stored["505"].text == "@DiGiorno multi\nline text"
    assert stored["507"].platform == "facebook" and stored["501"].platform == "x"
    assert stored["501"].negative and stored["501"].source == "import:brandwatch.csv"
    assert stored["501"].url == "https://x.example/amy/status/501"

    again = import_mentions(sqlite_engine, path, account="DiGiorno")
    assert (again.good, again.inserted, again.duplicates) == (4, 0, 4)


def test_map_names_columns_and_jsonl_reaches_into_objects(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    rows = [
        {"id_str": "9001", "full_text": "@USAirways what did you just send?!", "created_at": "Mon Apr 14 16:25:00 +0000 2014",
         "user": {"screen_name": "zed", "followers_count": 5400}, "retweets": 3},
        {"id_str": "9002", "full_text": "@USAirways unbelievable", "created_at": "2014-04-14T16:26:00Z",
         "user": {"screen_name": "yan", "followers_count": 12}},
    ]
    lines = [json.dumps(r) for r in rows] + ["{not json", "[1, 2]", json.dumps({"id_str": "9003"})]
    path = write(tmp_path, "tweets.jsonl", "\n".join(lines) + "\n")
    mapping = parse_map(["user.screen_name=author", "user.followers_count=author_followers", "retweets=engagement"])
    report = import_mentions(sqlite_engine, path, platform="x", account="USAirways", mapping=mapping)
    assert [line for line, _ in report.bad] == [3, 4, 5]
    assert report.bad[0][1].startswith("not JSON") and report.bad[2][1] == "text: missing; created_at: missing"
    stored = {m.ref: m for m in mentions_in_window(sqlite_engine, **WIDE)}
    assert stored["9001"].author == "zed" and stored["9001"].author_followers == 5400
    assert stored["9001"].engagement == 3
    assert stored["9001"].created_at == datetime(2014, 4, 14, 16, 25, tzinfo=UTC)

    with pytest.raises(ValueError, match="unknown field 'colour'"):
        parse_map(["a=colour"])
    with pytest.raises(ValueError, match="expected column=field"):
        parse_map(["nothing"])


def test_custom_columns_need_map_and_rows_without_ids_dedup_on_their_url(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    text = "Wanneer;Wie;Bericht;Link\n2014-09-08 23:00;piet;@DiGiorno dit kan echt niet;https://x.example/p/1\n"
    path = write(tmp_path, "meltwater.csv", text)
    unmapped = import_mentions(sqlite_engine, path, platform="x", account="DiGiorno")
    assert unmapped.good == 0 and "no header row" in unmapped.bad[0][1]
    mapping = parse_map(["Wanneer=created_at", "Wie=author", "Bericht=text"])
    first = import_mentions(sqlite_engine, path, platform="x", account="DiGiorno", mapping=mapping)
    second = import_mentions(sqlite_engine, path, platform="x", account="DiGiorno", mapping=mapping)
    assert (first.inserted, second.inserted, second.bad) == (1, 0, [])
    [mention] = mentions_in_window(sqlite_engine, **WIDE)
    assert mention.ref.startswith("import:") and mention.language == "nl" and mention.negative


def test_import_and_live_ingestion_share_one_identity(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    live = NewMention(platform="x", ref="501", account="DiGiorno", author="amy", text="live copy",
                      created_at=datetime(2014, 9, 8, 22, 45, tzinfo=UTC))
    assert store_mentions(sqlite_engine, [live, live], source="sandbox") == 1
    report = import_mentions(sqlite_engine, write(tmp_path, "bw.csv", BRANDWATCH), account="DiGiorno")
    assert report.inserted == 3
    assert {m.ref: m.text for m in mentions_in_window(sqlite_engine, **WIDE)}["501"] == "live copy"


def test_cli_import_reports_bad_lines_and_exits_1(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from runbook.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)
    path = write(tmp_path, "brandwatch.csv", BRANDWATCH)
    result = CliRunner().invoke(app, ["mentions", "import", str(path), "--account", "DiGiorno"])
    assert result.exit_code == 1, result.output
    assert "4 new mentions from 4 good rows of 7 (0 already stored, 3 bad)" in result.output
    assert f"{path}:8: created_at: cannot read 'not a date' as a date" in result.output
    bad_map = CliRunner().invoke(app, ["mentions", "import", str(path), "--map", "x"])
    assert bad_map.exit_code == 2
    listed = CliRunner().invoke(app, ["mentions", "list", "--since", "2014-09-08T00:00:00", "--until",
                                      "2014-09-09T00:00:00", "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 4
