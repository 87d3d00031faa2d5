"""The queue commands end to end through Typer, on a SQLite file: clear errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.db import dispose_engines

ROSTER = Path(__file__).parents[2] / "roster.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUNBOOK_ROSTER", str(ROSTER))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    yield run
    dispose_engines()


def test_check_post_exit_codes(cli) -> None:  # noqa: ANN001
    code, out = cli("check-post", "--account", "brand", "--platform", "x", "--no-links", "#WhyIStayed You had pizza.")
    assert code == 1 and "BLOCK hashtag.unreviewed" in out and "BLOCKED" in out
    code, out = cli("check-post", "--account", "brand", "--platform", "x", "--no-links", "Our autumn menu is here.")
    assert code == 0 and out.strip().endswith("OK (0 warning(s))")
    code, out = cli("check-post", "--account", "brand", "--platform", "myspace", "hi")
    assert code == 2 and "--platform must be one of" in out


def test_schedule_freeze_thaw_round_trip(cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, out = cli(
        "posts",
        "schedule",
        "--account",
        "brand",
        "--platform",
        "x",
        "--at",
        "+1h",
        "--text",
        "New store opening",
        "--as",
        "sam",
        "--no-links",
        "--json",
    )
    assert code == 0, out
    post_id = json.loads(out)["id"]
    code, out = cli(
        "posts", "schedule", "--account", "brand", "--platform", "x", "--at", "someday", "--text", "x", "--no-links"
    )
    assert code == 2 and "--at: not a time: 'someday'" in out
    code, out = cli("freeze", "--as", "nobody")
    assert code == 2 and "--as nobody: not on the roster" in out
    code, out = cli("freeze", "--as", "ana", "--reason", "drill", "--json")
    assert code == 0
    freeze = json.loads(out)
    assert freeze["post_ids"] == [post_id]
    code, out = cli("thaw", freeze["id"], "--as", "ana", "--no-links")
    assert code == 0 and f"{post_id}=release" in out
    code, out = cli("thaw", freeze["id"], "--as", "bram", "--apply", "--set", f"{post_id}=kil")
    assert code == 2 and "is not POST_ID=release|reschedule|kill" in out
    code, out = cli("thaw", freeze["id"], "--as", "bram", "--apply", "--set", f"{post_id}=kill")
    assert code == 0 and "1 killed" in out
    code, out = cli("posts", "list", "--status", "killed")
    assert code == 0 and post_id in out
    code, out = cli("posts", "list", "--status", "gone")
    assert code == 2


def test_import_reports_bad_rows_and_keeps_good_ones(cli, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "cal.csv").write_text(
        "account,platform,at,text\nbrand,x,+1h,Good\nbrand,x,soon,Bad\n", encoding="utf-8"
    )
    code, out = cli("posts", "import", "cal.csv", "--as", "sam", "--no-links")
    assert code == 1 and "cal.csv:3: not a time: 'soon'" in out and "1 post(s) imported" in out
    code, out = cli("posts", "list", "--json")
    assert [p["text"] for p in json.loads(out)] == ["Good"] and json.loads(out)[0]["source"] == "cal.csv:2"


def test_sandbox_storm_and_mentions(cli) -> None:  # noqa: ANN001
    code, out = cli("sandbox", "storm", "--scenario", "red-cross", "--mentions", "30", "--start", "historic")
    assert code == 0 and "30 new mention(s) of 30" in out
    code, out = cli("sandbox", "storm", "--scenario", "red-cross", "--mentions", "30", "--start", "historic")
    assert "0 new mention(s) of 30" in out
    code, out = cli("sandbox", "mentions", "RedCross", "--limit", "5", "--json")
    page = json.loads(out)
    assert code == 0 and len(page["items"]) == 5 and page["cursor"] == "5"
    code, out = cli("sandbox", "storm", "--scenario", "enron", "--mentions", "3")
    assert code == 2 and "--scenario must be one of" in out
