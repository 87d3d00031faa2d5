"""Database fixtures shared by the audit, queue, sandbox, listen and messaging tests: a real SQLite
file and a fresh database on the local PostgreSQL (skipped only when no server answers; set
RUNBOOK_TEST_PG_ADMIN_URL to use another server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from runbook.db import dispose_engines, init_db, make_engine

_UNREACHABLE = ("connection refused", "timeout expired", "could not translate host name", "no such file or directory")
PG_ADMIN_URL = os.environ.get("RUNBOOK_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'test.db'}"
    dispose_engines()


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        # Only "nobody answers" means skip; a server that answers but refuses is a failure.
        message = str(exc).lower()
        if any(sign in message for sign in _UNREACHABLE):
            pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}")
        raise


@pytest.fixture
def pg_url() -> Iterator[str]:
    admin = _admin()
    name = f"runbook_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.make_url(PG_ADMIN_URL)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        dispose_engines()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    made = make_engine(db_url)
    init_db(made)
    return made


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> sa.Engine:
    made = make_engine(sqlite_url)
    init_db(made)
    return made
