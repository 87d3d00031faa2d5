"""Database triggers that make the audit tables append-only, on SQLite and PostgreSQL.

`install` is idempotent and runs only in `runbook db upgrade` (the owner role); `problems` is the
read-only check every other command and `runbook audit verify` run; `remove` and `disable` exist
for tests that play an attacker with database access.

It sits beside runbook.db (the bottom layer), which installs and checks the triggers;
runbook.audit.triggers re-exports it.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")
_PG_FUNCTION = "runbook_refuse_change"
# The keys an `INSERT OR REPLACE` would overwrite (SQLite deletes the old row without firing
# DELETE triggers unless recursive_triggers is on, so the insert itself must refuse).
_SQLITE_KEYS = {
    "audit_event": "id = NEW.id OR (incident_id = NEW.incident_id AND seq = NEW.seq)",
    "audit_checkpoint": "id = NEW.id",
}


def _sqlite_triggers(table: str) -> list[tuple[str, str]]:
    out = [
        (
            f"{table}_no_{op.lower()}",
            f"BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END",
        )
        for op in ("UPDATE", "DELETE")
    ]
    if table in _SQLITE_KEYS:
        out.append(
            (
                f"{table}_no_replace",
                f"BEFORE INSERT ON {table} WHEN EXISTS (SELECT 1 FROM {table} WHERE {_SQLITE_KEYS[table]}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END",
            )
        )
    return out


def _pg_triggers(table: str) -> list[tuple[str, str]]:
    # Row triggers for UPDATE/DELETE (INSERT ... ON CONFLICT DO UPDATE fires the UPDATE one);
    # TRUNCATE bypasses row triggers, hence its own statement-level trigger.
    return [
        (f"{table}_no_update_delete", f"BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"),
        (f"{table}_no_truncate", f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT"),
    ]


def _pg_state(connection: Connection, table: str) -> dict[str, str]:
    """{trigger name: tgenabled} ('O' fires, 'D' disabled, 'R'/'A' replica-only or always)."""
    rows = connection.exec_driver_sql(
        "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        f"WHERE c.relname = '{table}' AND c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
    )
    return {name: str(enabled) for name, enabled in rows}


def problems(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """Read-only: every trigger that is missing or does not fire, as one sentence each."""
    out: list[str] = []
    if connection.dialect.name == "sqlite":
        existing = set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
        for table in tables:
            out += [
                f"trigger {name} on {table} is missing (run `runbook db upgrade`)"
                for name, _ in _sqlite_triggers(table)
                if name not in existing
            ]
        return out
    for table in tables:
        state = _pg_state(connection, table)
        for name, _ in _pg_triggers(table):
            if name not in state:
                out.append(f"trigger {name} on {table} is missing (run `runbook db upgrade`)")
            elif state[name] in ("D", "R"):
                # 'R' fires only in replica sessions, i.e. not for ordinary connections.
                what = "disabled" if state[name] == "D" else "set to fire only on replicas"
                out.append(f"trigger {name} on {table} is {what} (run `runbook db upgrade` as the owner)")
    return out


def install(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Create the refusing triggers where they are missing and re-enable disabled ones."""
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
        state = _pg_state(connection, table)
        for name, when in _pg_triggers(table):
            if name not in state:
                connection.exec_driver_sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {_PG_FUNCTION}()")
            elif state[name] != "O":
                connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {name}")


def remove(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Drop the triggers (what an attacker with DDL rights would do before tampering)."""
    sqlite = connection.dialect.name == "sqlite"
    for table in tables:
        for name, _ in _sqlite_triggers(table) if sqlite else _pg_triggers(table):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))


def disable(connection: Connection, table: str = "audit_event") -> None:
    """`ALTER TABLE ... DISABLE TRIGGER ALL` (PostgreSQL): what an owner could do quietly."""
    connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
