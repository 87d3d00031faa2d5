"""Every file in tests/spec/invalid/ fails with exactly the lines in its .expected twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runbook.spec import SpecError, load_playbook, load_roster
from runbook.steps.registry import load_kinds

ROOT = Path(__file__).resolve().parents[2]
INVALID = Path("tests/spec/invalid")
CASES = sorted(p.stem for p in (ROOT / INVALID).glob("*.yaml"))


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25
    missing = [c for c in CASES if not (ROOT / INVALID / f"{c}.expected").exists()]
    assert not missing, f"no .expected for {missing}"


@pytest.mark.parametrize("case", CASES)
def test_exact_error_lines(case):
    path = INVALID / f"{case}.yaml"
    with pytest.raises(SpecError) as caught:
        load_playbook(path, kinds=load_kinds(), roster=load_roster("roster.yaml"), templates_dir=Path("templates"))
    expected = (ROOT / INVALID / f"{case}.expected").read_text(encoding="utf-8").splitlines()
    assert str(caught.value).splitlines() == expected


def _runbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_reports_every_invalid_file_without_traceback():
    result = _runbook("check", str(INVALID))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    for case in CASES:
        for line in (ROOT / INVALID / f"{case}.expected").read_text().splitlines():
            assert line in result.stderr


def test_cli_json_lists_file_line_column_path_message():
    result = _runbook("check", "--json", str(INVALID / "quorum-zero.yaml"))
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {
            "file": "tests/spec/invalid/quorum-zero.yaml",
            "line": 10,
            "column": 15,
            "path": "steps[0].signoff.quorum",
            "message": "must be at least 1",
        }
    ]


def test_ten_megabyte_file_is_refused_clearly(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("id: big\ntitle: big\nsteps:\n" + "# padding\n" * 1_100_000)
    assert big.stat().st_size > 10_000_000
    result = _runbook("check", str(big))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{big}:1:1: file is {big.stat().st_size:,} bytes; a playbook may be at most 1,000,000" in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = _runbook("check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "cannot read file" in result.stderr and "Traceback" not in result.stderr
