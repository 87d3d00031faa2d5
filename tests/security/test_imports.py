"""`runbook posts import` keeps every good row: an oversized field, a NUL byte, a byte that is not
UTF-8, a deeply nested JSONL line or a media path that is /dev/zero is one bad row with its line
number, never a traceback or an empty import; `--encoding` decodes strictly, with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.db import dispose_engines

ROSTER = Path(__file__).parents[2] / "roster.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request):
    backend = getattr(request, "param", "sqlite")
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUNBOOK_ROSTER", str(ROSTER))
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        from runbook.db import init_db, make_engine

        init_db(make_engine(url))  # the owner's `runbook db upgrade`
        monkeypatch.setenv("RUNBOOK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.output

    yield run
    dispose_engines()


def imported(cli) -> list[str]:
    code, out = cli("posts", "list", "--json")
    assert code == 0, out
    return sorted(p["text"] for p in json.loads(out))


@pytest.mark.parametrize("cli", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_mixed_csv_stores_its_good_rows(cli, tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    rows = [
        b"account,platform,at,text,media",
        b"brand,x,+1h,Good one,",
        b"brand,x,+1h," + b"y" * 131_073 + b",",
        b"brand,x,+1h,with a \x00 NUL,",
        b"brand,x,+1h,caf\xe9 in Latin-1,",
        b"brand,x,+1h,endless media,/dev/zero",
        b"brand,x,+1h,a folder as media,.",
        b"brand,x,+1h,Good two,img.png",
    ]
    (tmp_path / "cal.csv").write_bytes(b"\n".join(rows) + b"\n")
    code, out = cli("posts", "import", "cal.csv", "--as", "sam", "--no-links")
    assert code == 1
    assert "cal.csv:3: text is 131,073 characters; the limit is 65,536" in out
    assert "cal.csv:4: text contains a NUL byte" in out
    assert "cal.csv:5: text has byte 0xE9, which is not UTF-8; pass --encoding" in out
    assert "cal.csv:6: media /dev/zero is not a regular file" in out
    assert "cal.csv:7: media . is not a regular file" in out
    assert "2 post(s) imported" in out and "5 bad row(s)" in out
    assert imported(cli) == ["Good one", "Good two"]
    assert "\ufffd" not in out


def test_jsonl_depth_and_an_explicit_encoding(cli, tmp_path: Path) -> None:
    good = {"account": "brand", "platform": "x", "at": "+1h", "text": "Good"}
    lines = [
        json.dumps(good),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**good, "text": {"nested": ["object"]}}),
        json.dumps({**good, "text": "Also good"}),
    ]
    (tmp_path / "cal.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = cli("posts", "import", "cal.jsonl", "--as", "sam", "--no-links")
    assert code == 1 and "Traceback" not in out
    assert "cal.jsonl:2: nested too deeply (a calendar row is one flat object)" in out
    assert "cal.jsonl:3: text must be a string" in out
    assert imported(cli) == ["Also good", "Good"]

    (tmp_path / "latin.csv").write_bytes("account,platform,at,text\nbrand,x,+1h,Café crème\n".encode("latin-1"))
    code, out = cli("posts", "import", "latin.csv", "--as", "sam", "--no-links", "--encoding", "latin-1")
    assert code == 0, out
    assert "Café crème" in imported(cli)
    code, out = cli("posts", "import", "latin.csv", "--as", "sam", "--no-links", "--encoding", "utf-8")
    assert code == 1 and "latin.csv: cannot read: line 2, column 16: byte 0xE9 is not valid utf-8" in out
