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
    assert report.bad == [
        (8, "created_at: cannot read 'not a date' as a date"),
        (9, "text: missing"),
        (12, "author_followers: not a number: 'lots'"),
    ]
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
        {
            "id_str": "9001",
            "full_text": "@USAirways what did you just send?!",
            "created_at": "Mon Apr 14 16:25:00 +0000 2014",
            "user": {"screen_name": "zed", "followers_count": 5400},
            "retweets": 3,
        },
        {
            "id_str": "9002",
            "full_text": "@USAirways unbelievable",
            "created_at": "2014-04-14T16:26:00Z",
            "user": {"screen_name": "yan", "followers_count": 12},
        },
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
    live = NewMention(
        platform="x",
        ref="501",
        account="DiGiorno",
        author="amy",
        text="live copy",
        created_at=datetime(2014, 9, 8, 22, 45, tzinfo=UTC),
    )
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
    listed = CliRunner().invoke(
        app, ["mentions", "list", "--since", "2014-09-08T00:00:00", "--until", "2014-09-09T00:00:00", "--json"]
    )
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 4


# -- an export that helps (issue 11) and keeps every good row (issue 17) ----------------------
CARE_EXPORT = """\
post_id,mood,mood_reason,carrier,name,retweet_count,text,tweet_created
71,negative,Lost Luggage,Sky Jet Air,ann,0,"@SkyJetAir my bag never arrived, third day now",2024-03-04 08:00:00 -0800
72,positive,,Sky Jet Air,bob,2,"@SkyJetAir lovely crew this morning",2024-03-04 08:05:00 -0800
73,neutral,,Sky Jet Air,cid,many,,yesterday-ish
"""


def test_first_error_names_what_is_missing_lists_columns_and_suggests_a_map(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    path = write(tmp_path, "care.csv", CARE_EXPORT)
    report = import_mentions(sqlite_engine, path)
    assert report.rows == 0 and len(report.bad) == 1
    line, error = report.bad[0]
    assert line == 1 and error.startswith("missing account: no column for account")
    assert "(columns seen: post_id, mood, mood_reason, carrier, name, retweet_count, text, tweet_created)" in error
    assert error.endswith("give --account NAME") and report.inferred_platform == "x"  # from "tweet_created"
    plain = write(tmp_path, "plain.csv", CARE_EXPORT.replace("tweet_created", "created"))
    [(_, error)] = import_mentions(sqlite_engine, plain).bad
    assert error.startswith("missing platform, account: no column for platform or account")
    assert "--platform NAME" in error and "--account NAME" in error

    tweets = write(tmp_path, "tweets.csv", CARE_EXPORT.replace("post_id", "tweet_id").replace("carrier", "airline"))
    report = import_mentions(sqlite_engine, tweets)
    assert report.warnings == ["platform: x, from the column 'tweet_id' (give --platform to choose)"]
    assert report.inserted == 2 and {m.account for m in mentions_in_window(sqlite_engine, **WIDE)} == {"SkyJetAir"}

    no_text = write(tmp_path, "no_text.csv", "id,message_body,when\n1,hello,2024-01-01\n")
    [(_, error)] = import_mentions(sqlite_engine, no_text, platform="x", account="SkyJetAir").bad
    assert "columns seen: id, message_body, when" in error and "--map 'message_body=text'" in error


def test_all_problems_of_a_row_handles_and_columns_kept_in_meta(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    path = write(tmp_path, "care.csv", CARE_EXPORT)
    report = import_mentions(sqlite_engine, path, platform="x", mapping=parse_map(["carrier=account"]))
    assert report.bad == [
        (4, "text: missing; created_at: cannot read 'yesterday-ish' as a date; engagement: not a number: 'many'")
    ]
    assert report.kept_in_meta == ["mood", "mood_reason"]
    stored = {m.author: m for m in mentions_in_window(sqlite_engine, **WIDE)}
    assert stored["ann"].account == "SkyJetAir" and stored["ann"].meta["mood_reason"] == "Lost Luggage"
    assert stored["ann"].label == "negative" and stored["ann"].needs_answer
    assert stored["bob"].label == "positive" and not stored["bob"].needs_answer and stored["bob"].engagement == 2

    other = write(tmp_path, "other.csv", CARE_EXPORT.replace("7", "8"))
    import_mentions(sqlite_engine, other, platform="x", account="@skyjet_help", mapping=parse_map(["carrier=account"]))
    overridden = [m for m in mentions_in_window(sqlite_engine, **WIDE) if m.account == "skyjet_help"]
    assert len(overridden) == 2 and overridden[0].meta["account_in_file"] == "Sky Jet Air"


def test_a_mixed_import_stores_every_good_row(engine, tmp_path) -> None:  # noqa: ANN001
    huge = "x" * 131_073
    csv_text = (
        "id,text,created_at\n"
        "1,@SkyJetAir fine,2024-03-04T08:00:00Z\n"
        f'2,"@SkyJetAir {huge}",2024-03-04T08:01:00Z\n'
        "3,@SkyJetAir a NUL \x00 here,2024-03-04T08:02:00Z\n"
        "4,@SkyJetAir also fine,2024-03-04T08:03:00Z\n"
    )
    report = import_mentions(engine, write(tmp_path, "mixed.csv", csv_text), platform="x", account="SkyJetAir")
    assert [line for line, _ in report.bad] == [3, 4]
    assert "longer than 131,072 characters" in report.bad[0][1] and report.bad[1][1] == "text: contains a NUL byte"
    assert report.inserted == 2

    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    lines = [
        json.dumps({"id": "j1", "text": "@SkyJetAir json fine", "created_at": "2024-03-04T09:00:00Z"}),
        deep,
        json.dumps(
            {
                "id": "j2",
                "text": "@SkyJetAir nested",
                "created_at": "2024-03-04T09:01:00Z",
                "x": json.loads('{"a":' * 40 + "1" + "}" * 40),
            }
        ),
        json.dumps({"id": "j3", "text": "@SkyJetAir nul \u0000", "created_at": "2024-03-04T09:02:00Z"}),
        json.dumps({"id": "j4", "text": "@SkyJetAir json also fine", "created_at": "2024-03-04T09:03:00Z"}),
    ]
    report = import_mentions(
        engine, write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n"), platform="x", account="SkyJetAir"
    )
    assert report.bad == [
        (2, "nested deeper than 32 levels"),
        (3, "nested deeper than 32 levels"),
        (4, "text: contains a NUL byte"),
    ]
    assert report.inserted == 2
    stored = sorted(m.ref for m in mentions_in_window(engine, **WIDE))
    assert stored == ["1", "4", "j1", "j4"]


def test_encodings_detected_or_refused(sqlite_engine, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from runbook.cli.main import app
    from runbook.listen.importer import ImportFileError

    body = "id,text,created_at\n1,@SkyJetAir café crème was cold,2024-03-04T08:00:00Z\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(body.encode("cp1252"))
    report = import_mentions(sqlite_engine, latin, platform="x", account="SkyJetAir")
    assert report.inserted == 1 and "not UTF-8 (first at line 2" in report.warnings[0]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(body.replace("1,", "2,").encode("utf-16"))
    assert import_mentions(sqlite_engine, utf16, platform="x", account="SkyJetAir").warnings == []
    texts = {m.ref: m.text for m in mentions_in_window(sqlite_engine, **WIDE)}
    assert texts == {"1": "@SkyJetAir café crème was cold", "2": "@SkyJetAir café crème was cold"}
    with pytest.raises(ImportFileError, match=r"latin.csv:2: byte 0xe9 .* is not utf-8"):
        import_mentions(sqlite_engine, latin, platform="x", account="SkyJetAir", encoding="utf-8")

    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["mentions", "import", str(latin), "--platform", "x", "--account", "SkyJetAir", "--encoding", "utf-8"]
    )
    assert result.exit_code == 1 and "is not utf-8" in result.output and "Traceback" not in result.output
    warned = CliRunner().invoke(app, ["mentions", "import", str(latin), "--platform", "x", "--account", "SkyJetAir"])
    assert warned.exit_code == 0 and "warning:" in warned.output and "Windows-1252" in warned.output
    care = write(tmp_path, "care.csv", CARE_EXPORT)
    listed = CliRunner().invoke(app, ["mentions", "import", str(care), "--platform", "x", "--map", "carrier=account"])
    assert listed.exit_code == 1  # the bad row 4
    assert "columns kept in meta (no field of their own): mood, mood_reason" in listed.output
    assert f"{care}:4: text: missing; created_at: cannot read" in listed.output
