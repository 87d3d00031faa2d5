"""Database triggers that make the audit tables append-only, on SQLite and PostgreSQL.

`install` is idempotent (the migration and `init_db` both call it); `remove` exists for tests
that play an attacker with database access.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")
_PG_FUNCTION = "runbook_refuse_change"


def _sqlite_triggers(table: str) -> list[tuple[str, str]]:
    return [
        (
            f"{table}_no_{op.lower()}",
            f"BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END",
        )
        for op in ("UPDATE", "DELETE")
    ]


def _pg_triggers(table: str) -> list[tuple[str, str]]:
    # Row triggers for UPDATE/DELETE; TRUNCATE bypasses row triggers, hence its own
    # statement-level trigger.
    return [
        (f"{table}_no_update_delete", f"BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"),
        (f"{table}_no_truncate", f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT"),
    ]


def install(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Create the refusing triggers where they are missing."""
    if connection.dialect.name == "sqlite":
        for table in tables:
            for name, body in _sqlite_triggers(table):
                connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        return
    connection.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        # No '%' placeholders: the driver would read them as bind parameters.
        "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused', "
        "ERRCODE = 'restrict_violation'; END $$"
    )
    for table in tables:
        existing = set(
            connection.exec_driver_sql(f"SELECT tgname FROM pg_trigger WHERE tgrelid = '{table}'::regclass").scalars()
        )
        for name, when in _pg_triggers(table):
            if name not in existing:
                connection.exec_driver_sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {_PG_FUNCTION}()")


def remove(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Drop the triggers (what an attacker with DDL rights would do before tampering)."""
    sqlite = connection.dialect.name == "sqlite"
    for table in tables:
        for name, _ in _sqlite_triggers(table) if sqlite else _pg_triggers(table):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
