"""Schema management: init_db on fresh databases, twice, keeping data; models match migrations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from runbook import audit
from runbook.db import alembic_config, init_db, make_engine
from tests.audit.audit_helpers import fill, new_incident

AUDIT_TABLES = {"incident", "audit_event", "audit_checkpoint"}


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_init_db_twice_keeps_data(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    fill(engine, incident.id, 3)
    init_db(engine)
    init_db(engine)
    assert [event.seq for event in audit.events(engine, incident.id)] == [1, 2, 3]
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == (head(),)


def test_audit_revision_is_the_base() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_revision("0001_audit").down_revision is None


def test_models_match_the_migrations(engine: sa.Engine) -> None:
    def audit_only(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
        # Other packages' tables are checked by their own tests.
        return (name if type_ == "table" else obj.table.name) in AUDIT_TABLES

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": audit_only})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_sqlite_engine_pragmas(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    assert make_engine(sqlite_url) is engine
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30_000, "foreign_keys": 1}


def test_foreign_keys_are_enforced(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_checkpoint (incident_id, seq, hash, ts, reason) "
                "VALUES ('missing', 1, 'h', CURRENT_TIMESTAMP, 'r')"
            )
        )
