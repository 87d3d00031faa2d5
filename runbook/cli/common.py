"""What every command group shares: registering commands, one-line failures, the --format and
--output of reports, and opening our database from settings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Command = Callable[..., Any]
# The options every report command shares: `--format md|html|json` and `--output FILE`.
ReportFormat = Annotated[str, typer.Option("--format", "-f", help="md, html or json")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")]


def mount(
    app: typer.Typer, *, groups: Mapping[str, typer.Typer] | None = None, commands: Mapping[str, Command] | None = None
) -> None:
    """Add these command groups, then these commands, to `app` (their order is `--help`'s)."""
    for name, group in (groups or {}).items():
        app.add_typer(group, name=name)
    for name, command in (commands or {}).items():
        app.command(name)(command)


def command_group(name: str, help: str, commands: Mapping[str, Command]) -> typer.Typer:  # noqa: A002 - Typer's name
    """A `runbook NAME ...` group of these commands; without a command it prints its help."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True)
    mount(group, commands=commands)
    return group


def fail(message: str, *, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def check_format(fmt: str, formats: Collection[str]) -> None:
    if fmt not in formats:
        fail(f"--format must be one of {', '.join(formats)}, not {fmt!r}")


def write_output(text: str, output: Path | None) -> None:
    """A report to stdout, or to the --output file."""
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


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
