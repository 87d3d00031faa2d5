"""Post-mortem fixtures: the audit tests' real databases (a SQLite file, and PostgreSQL where it
answers) and a SQLite-only engine for the tests where the backend does not matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.db import dispose_engines, init_db, make_engine
from tests.audit.conftest import db_url, engine, pg_url, sqlite_url  # noqa: F401


@pytest.fixture
def lite(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'postmortem.db'}")
    init_db(engine)
    yield engine
    dispose_engines()
