"""`runbook check-statement` on a Latin-1 or a binary file: one clear line (file, line, column),
exit 2, never a traceback; `--encoding latin-1` reads the Latin-1 file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from runbook.cli.main import app


def test_latin1_and_binary_statements_get_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    latin = tmp_path / "statement.txt"
    latin.write_bytes("We are sorry.\nOur café staff will call you.\n".encode("latin-1"))
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    runner = CliRunner()
    out = runner.invoke(app, ["check-statement", str(latin), "--no-links"])
    assert out.exit_code == 2 and out.exception is None or isinstance(out.exception, SystemExit)
    assert out.output.strip() == (
        f"error: {latin} is not valid UTF-8: byte 0xE9 at line 2, column 8; "
        "pass --encoding (e.g. latin-1) if the file is in another encoding"
    )
    out = runner.invoke(app, ["check-statement", str(binary), "--no-links"])
    assert out.exit_code == 2
    assert (
        out.output.strip()
        == f"error: {binary} is a binary file (it has NUL bytes), not text: byte 0x00 at line 3, column 1"
    )
    out = runner.invoke(app, ["check-statement", str(latin), "--no-links", "--encoding", "latin-1"])
    assert out.exit_code in (0, 1) and "Traceback" not in out.output and "error:" not in out.output
