"""The layer contracts in pyproject.toml (`lint-imports`): they hold on the code, and the check
itself sees an upward import even when it hides inside a function."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("runbook", "flows"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


@pytest.mark.slow
def test_the_code_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.slow
def test_a_planted_upward_import_inside_a_function_breaks_the_build(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    (tree / "runbook" / "spec" / "planted.py").write_text(
        '"""Planted by the test: the language layer reaching up into the engine."""\n\n\n'
        "def sneaky() -> object:\n"
        "    from runbook.engine import commands\n\n"
        "    return commands\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "runbook.spec.planted -> runbook.engine.commands" in result.stdout
