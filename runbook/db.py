"""Database engines and schema initialisation shared by the whole product.

Owns how an engine talks to SQLite (WAL, explicit BEGIN) or PostgreSQL, the write-transaction
helper with its lock/retry policy, `init_db` (what `runbook db upgrade` runs as the owner role:
Alembic migrations to head and the append-only triggers), `open_db` (what every other command
runs: a read-only check of the schema version and the triggers) and the least-privilege GRANTs.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Engine

from runbook.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DatabaseUnavailable",
    "SchemaNotReady",
    "alembic_config",
    "app_grants",
    "database_errors",
    "dispose_engines",
    "init_db",
    "inserted_id",
    "make_engine",
    "open_db",
    "schema_state",
    "write_transaction",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant: serialises concurrent `init_db` calls against one PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x72756E626F6F6B  # "runbook"
_MIGRATIONS = Path(__file__).parent / "audit" / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _canonical_json(value: object) -> str:
    # runbook.canonical is the single definition of canonical JSON (the audit chain uses it too):
    # JSON columns stored in canonical form let `verify` hash the stored text directly.
    from runbook.canonical import canonical_json

    return canonical_json(value)


def make_engine(url: str) -> Engine:
    """Return the process-wide engine for `url`, creating it on first use."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine's pool (tests dropping databases, processes shutting down)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _forget_engines_in_child() -> None:
    # A forked child must not reuse the parent's pooled sockets/file handles.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def _create_engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            json_serializer=_canonical_json,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(parsed, json_serializer=_canonical_json, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # pysqlite's own implicit BEGIN is deferred and skipped before DDL; we emit BEGIN
        # ourselves (below) so every transaction, DDL included, is explicit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _retry_locked(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so "read head, insert next" cannot
        # interleave with another process, and a reader never has to upgrade to a writer
        # (which SQLite answers with an immediate "database is locked").
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _is_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database table is locked" in text


def _retry_locked(fn: Callable[[], T], *, attempts: int = 8) -> T:
    delay = 0.01
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:  # sqlite3.OperationalError or SQLAlchemy's wrapper
            if attempt == attempts - 1 or not _is_locked(exc):
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


@contextmanager
def _write_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            yield connection


def write_transaction(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 8) -> T:
    """Run `work(connection)` in one short write transaction and commit.

    On SQLite the transaction starts with BEGIN IMMEDIATE and is retried with jittered backoff
    if the database stays locked past the busy timeout; `work` must therefore be safe to rerun.
    """

    def once() -> T:
        with _write_connection(engine) as connection:
            return work(connection)

    if engine.dialect.name != "sqlite":
        return once()
    return _retry_locked(once, attempts=attempts)


def inserted_id(result: CursorResult[*tuple[Any, ...]]) -> int:
    """The primary key of the one row an INSERT added."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    inserted: int = key[0]
    return inserted


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration for the product's migrations, with no alembic.ini.

    With a connection, env.py runs on it, inside its transaction (and any lock it holds).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(engine: Engine) -> None:
    """Migrate the schema to head and make sure the append-only triggers exist and fire.
    Needs DDL rights: `runbook db upgrade` (the owner role) and tests; commands use `open_db`.

    Idempotent; concurrent callers serialise on the SQLite write lock or a PostgreSQL advisory
    lock, so the second one finds the schema at head and does nothing.
    """
    from alembic import command

    from runbook import db_triggers as triggers

    def migrate(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        command.upgrade(alembic_config(connection), "head")
        triggers.install(connection)

    write_transaction(engine, migrate)


class SchemaNotReady(ConfigurationError, RuntimeError):
    """The database is not at the schema this code needs; str() says to run `runbook db upgrade`."""

    exit_code = 2


class DatabaseUnavailable(ConfigurationError):
    """The database could not be opened or changed (a driver error); str() is the driver's first line.
    Commands catch this, not SQLAlchemy's exceptions: SQL stays in the packages that own tables."""


@contextmanager
def database_errors(*, any_driver_error: bool = False) -> Iterator[None]:
    """Turn SQLAlchemy's OperationalError (with `any_driver_error`: any DBAPIError, e.g. a role
    without DDL rights) raised inside the block into a DatabaseUnavailable."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    caught: type[DBAPIError] = DBAPIError if any_driver_error else OperationalError
    try:
        yield
    except caught as exc:
        raise DatabaseUnavailable(str(exc.orig).strip().splitlines()[0]) from exc


def _head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def schema_state(engine: Engine) -> tuple[bool, list[str]]:
    """(at head, trigger problems), read with SELECTs only: safe for a least-privilege role."""
    from runbook import db_triggers as triggers

    heads = _head_revisions()
    with engine.connect() as connection, connection.begin():
        if not sa.inspect(connection).has_table("alembic_version"):
            return False, []
        current = set(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
        at_head = current == heads
        return at_head, triggers.problems(connection) if at_head else []


def open_db(engine: Engine, *, warn: Callable[[str], None] | None = None) -> None:
    """What every command but `runbook db upgrade` runs: check, never change, the schema.

    A local SQLite file (owned by whoever runs the command) is migrated on first use; on
    PostgreSQL a schema behind head is a SchemaNotReady, because only the owner role may change
    it. Trigger problems do not stop a command in the middle of a crisis: each is passed to
    `warn`, and `runbook audit verify` fails on them.
    """
    at_head, problems = schema_state(engine)
    if not at_head:
        if engine.dialect.name != "sqlite":
            raise SchemaNotReady(
                f"the database {engine.url.render_as_string(hide_password=True)} is not at the "
                "schema this version needs: run `runbook db upgrade` as the owner role"
            )
        init_db(engine)
        return
    for problem in problems:
        (warn or log.warning)(problem)


# Tables rows are only ever added to: the app role gets SELECT and INSERT, nothing else.
APPEND_ONLY = ("audit_event", "audit_checkpoint", "alembic_version")
# Tables whose rows the APScheduler job store removes when a job has run or is cancelled.
DELETABLE = ("apscheduler_jobs",)


def app_grants(engine: Engine, role: str) -> list[str]:
    """The exact GRANTs of the least-privilege application role on PostgreSQL (see
    docs/production.md): SELECT and INSERT everywhere; UPDATE only on the state tables (incident
    status, queue and reply progress: also what `SELECT ... FOR UPDATE` row locks need); DELETE
    only on the job store; no TRUNCATE, REFERENCES, TRIGGER or ownership, so no DDL at all."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"role name {role!r}: use lower-case letters, digits and _")
    with engine.connect() as connection:
        tables = sorted(sa.inspect(connection).get_table_names())
    mutable = [t for t in tables if t not in APPEND_ONLY]
    database = engine.url.database
    out = [
        f"GRANT CONNECT ON DATABASE {database} TO {role};",
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
        # The schema version is the owner's: only `runbook db upgrade` writes it.
        f"REVOKE INSERT ON alembic_version FROM {role};",
    ]
    if mutable:
        out.append(f"GRANT UPDATE ON {', '.join(mutable)} TO {role};")
    deletable = [t for t in DELETABLE if t in tables]
    if deletable:
        out.append(f"GRANT DELETE ON {', '.join(deletable)} TO {role};")
    return out
