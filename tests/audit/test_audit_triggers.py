"""The database itself refuses to change or remove audit rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from runbook import audit
from tests.audit.audit_helpers import fill, new_incident

REFUSED = [
    "UPDATE audit_event SET actor = 'mallory'",
    "UPDATE audit_event SET seq = seq + 100 WHERE seq = 1",
    "DELETE FROM audit_event",
    "DELETE FROM audit_event WHERE seq = 2",
    "UPDATE audit_checkpoint SET hash = 'x'",
    "DELETE FROM audit_checkpoint",
]


@pytest.fixture
def trail(engine: sa.Engine) -> audit.Incident:
    incident = new_incident(engine)
    fill(engine, incident.id, 3)
    audit.checkpoint(engine, incident.id, reason="signoff")
    return incident


def counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one(),
            connection.execute(sa.text("SELECT count(*) FROM audit_checkpoint")).scalar_one(),
        )


@pytest.mark.parametrize("statement", REFUSED)
def test_update_and_delete_are_refused(engine: sa.Engine, trail: audit.Incident, statement: str) -> None:
    before = audit.events(engine, trail.id)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text(statement))
    assert audit.events(engine, trail.id) == before
    assert counts(engine) == (3, 1)
    assert audit.verify(engine).ok


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint"])
def test_truncate_is_refused_on_postgres(engine: sa.Engine, trail: audit.Incident, table: str) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only: TRUNCATE refused"), engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    assert counts(engine) == (3, 1)


def test_incidents_stay_mutable(engine: sa.Engine, trail: audit.Incident) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE incident SET status = 'running'"))
    assert audit.get_incident(engine, trail.id).status == "running"


def test_init_db_restores_dropped_triggers(engine: sa.Engine, trail: audit.Incident) -> None:
    from runbook.audit import triggers
    from runbook.db import init_db

    with engine.begin() as connection:
        triggers.remove(connection)
    init_db(engine)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_event"))
