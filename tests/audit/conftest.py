"""Fixtures for the audit tests: a real SQLite file and a fresh database on the local PostgreSQL
(shared with the other suites in tests/dbfixtures.py)."""

from tests.dbfixtures import db_url, engine, pg_url, sqlite_url  # noqa: F401
