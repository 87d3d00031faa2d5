"""The 0004 migration matches the table definitions and rolls back; `runbook check-statement`
prints rule ids and exits 1 on a block."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from runbook.cli.main import app
from runbook.messaging.tables import metadata
from tests.messaging.conftest import REPO


def test_migrated_schema_matches_the_table_definitions_and_rolls_back(engine) -> None:  # noqa: ANN001
    from alembic import command

    from runbook.db import alembic_config, init_db, write_transaction

    inspector = sa.inspect(engine)
    for table in metadata.tables.values():
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}, table.name
    write_transaction(engine, lambda c: command.downgrade(alembic_config(c), "0003_listening"))
    assert not {"messaging_reply", "messaging_reply_batch"} & set(sa.inspect(engine).get_table_names())
    init_db(engine)
    assert {"messaging_reply", "messaging_reply_batch"} <= set(sa.inspect(engine).get_table_names())


BLAMING = "We are sorry if anyone was offended. A technical glitch sent the post.\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_statement_blocks_with_rule_ids(runner, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "statement.txt"
    path.write_text(BLAMING, encoding="utf-8")
    result = runner.invoke(app, ["check-statement", "--no-links", str(path)])
    assert result.exit_code == 1, result.output
    assert "BLOCK doctrine.apology.conditional" in result.output and "BLOCK doctrine.blame" in result.output
    assert result.output.strip().endswith("BLOCKED: 2 finding(s) block it")


def test_check_statement_passes_a_good_dutch_statement_from_stdin(runner, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    text = (
        "Het spijt ons. We gebruikten de hashtag WhyIStayed zonder te lezen waar die over gaat. Dat was onze "
        "fout. We hebben het bericht verwijderd en we gaan iedereen persoonlijk antwoorden. U verdient respect."
    )
    result = runner.invoke(
        app, ["check-statement", "--lang", "nl", "--platform", "x", "--no-links", "--json", "-"], input=text
    )
    assert result.exit_code == 0, result.output
    assert '"blocked": false' in result.output
    assert runner.invoke(app, ["check-statement", "--lang", "de", "-"], input=text).exit_code == 2


def test_the_console_script_is_registered() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "check-statement", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--platform" in done.stdout
