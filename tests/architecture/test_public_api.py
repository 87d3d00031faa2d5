"""The public API (`runbook/__init__.py`): lazy, complete, and enough for a third-party step kind
installed as a real package (the example in docs/examples/runbook-legal-hold)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import runbook
from runbook.errors import Conflict, InvalidSpec, exit_code

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "runbook-legal-hold"
RUNBOOK = Path(sys.executable).with_name("runbook")


def test_every_exported_name_resolves_and_is_listed() -> None:
    assert runbook.__all__ == sorted(runbook.__all__)
    for name in runbook.__all__:
        assert getattr(runbook, name) is not None, name
    with pytest.raises(AttributeError):
        runbook.not_a_public_name  # noqa: B018


def test_import_runbook_stays_light() -> None:
    # `runbook check` starts in a fraction of a second: the package import loads no model or engine.
    # Only runbook.lazy, the PEP 562 helper the package's __getattr__ is made with.
    code = "import sys, runbook; print(sorted(m for m in sys.modules if m.startswith(('runbook.', 'pydantic', 'prefect'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['runbook.lazy']"


def test_error_families_carry_exit_codes() -> None:
    from runbook.audit.errors import IncidentNotFound
    from runbook.ports.channel import ChannelError
    from runbook.spec.errors import SpecError

    assert isinstance(SpecError([]), InvalidSpec) and isinstance(SpecError([]), ValueError)
    assert exit_code(IncidentNotFound("x")) == 5 and isinstance(IncidentNotFound("x"), LookupError)
    assert exit_code(ChannelError("down")) == 6
    assert exit_code(Conflict("busy")) == 4
    assert exit_code(KeyError("x")) == 1


def test_cli_maps_an_unhandled_runbook_error_to_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from runbook.cli import main as cli_main

    @cli_main.app.command("raise-conflict-for-test", hidden=True)
    def _boom() -> None:
        raise Conflict("the gate was already decided")

    try:
        with pytest.raises(SystemExit) as exited:
            cli_main.main(["raise-conflict-for-test"])
        assert exited.value.code == 4
        assert capsys.readouterr().err == "error: the gate was already decided\n"
        with pytest.raises(Conflict):  # --debug shows the real exception (and so its traceback)
            cli_main.main(["raise-conflict-for-test", "--debug"])
    finally:
        cli_main.app.registered_commands.pop()


def test_example_plugin_imports_only_the_public_api() -> None:
    tree = ast.parse((EXAMPLE / "runbook_legal_hold" / "__init__.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in modules if m and m.startswith("runbook")} == {"runbook"}


@pytest.mark.slow
def test_example_plugin_works_once_installed(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE, source)
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": "", "RUNBOOK_ROSTER": str(ROOT / "roster.yaml"), "RUNBOOK_HOME": str(tmp_path)}
    check = [str(RUNBOOK), "check", str(source / "playbook.yaml"), "--roster", str(ROOT / "roster.yaml")]

    before = subprocess.run(check, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert before.returncode == 1 and "unknown step kind 'legal_hold'" in before.stdout + before.stderr

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    env["PYTHONPATH"] = str(site)
    after = subprocess.run(check, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    plan = subprocess.run(
        [str(RUNBOOK), "plan", str(source / "playbook.yaml"), "--as", "lena"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "legal_hold" in plan.stdout
