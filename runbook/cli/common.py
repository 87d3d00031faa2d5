"""What every command group shares: one-line failures and opening our database from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def fail(message: str, *, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def database_url(explicit: str | None = None) -> str:
    """`explicit`, else the configured database's URL (the default SQLite file's folder created)."""
    from runbook.settings import Settings

    if explicit:
        return explicit
    settings = Settings()
    if settings.database.url is None:
        settings.paths.ensure_home()  # the default SQLite file lives there
    return settings.resolved_database_url


def database() -> Engine:
    """The configured database, checked (read-only) to be at head; a one-line error when it cannot be opened."""
    from runbook.db import DatabaseUnavailable, SchemaNotReady, database_errors, make_engine, open_db

    engine = make_engine(database_url())
    try:
        with database_errors():
            open_db(engine)
    except SchemaNotReady as exc:
        fail(str(exc))
    except DatabaseUnavailable as exc:
        fail(f"cannot open the database {engine.url!r}: {exc}")
    return engine
