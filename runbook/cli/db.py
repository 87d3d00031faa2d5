"""`runbook db`: the only commands that change the schema (upgrade, as the owner role), the
read-only check every other command also runs, and the GRANTs of the least-privilege app role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from runbook.cli.common import command_group, database_url, fail, mount

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Url = Annotated[
    str | None,
    typer.Option(
        "--url", help="Database URL (default: RUNBOOK_DATABASE_URL); for `upgrade` on PostgreSQL, the owner role's"
    ),
]


def _engine(url: str | None) -> Engine:
    from runbook.db import make_engine

    return make_engine(database_url(url))


def upgrade_command(url: Url = None) -> None:
    """Migrate the schema to head and install (or re-enable) the append-only triggers."""
    from runbook.db import DatabaseUnavailable, database_errors, init_db, schema_state

    engine = _engine(url)
    try:
        with database_errors(any_driver_error=True):
            init_db(engine)
    except DatabaseUnavailable as exc:
        fail(
            f"could not upgrade {engine.url.render_as_string(hide_password=True)}: "
            f"{exc} (run it as the role that owns the tables)"
        )
    _, problems = schema_state(engine)
    if problems:
        fail("; ".join(problems))
    typer.echo("the schema is at head and the audit triggers are in place")


def check_command(url: Url = None) -> None:
    """Read-only: is the schema at head, do the triggers exist and fire? Exit 1 if not."""
    from runbook.db import schema_state

    at_head, problems = schema_state(_engine(url))
    if not at_head:
        fail("the schema is not at head: run `runbook db upgrade` as the owner role")
    if problems:
        fail("; ".join(problems))
    typer.echo("the schema is at head and the audit triggers are in place")


def grants_command(
    role: Annotated[str, typer.Argument(help="The application role (PostgreSQL)")], url: Url = None
) -> None:
    """Print the exact GRANTs of the least-privilege application role (see docs/production.md)."""
    from runbook.db import app_grants

    engine = _engine(url)
    if engine.dialect.name != "postgresql":
        fail("GRANTs apply to PostgreSQL; a SQLite file is protected by its file permissions")
    try:
        typer.echo("\n".join(app_grants(engine, role)))
    except ValueError as exc:
        fail(str(exc))


# Registered as audit.py registers its group (a name, a help line, the commands): only those differ.
def register(app: typer.Typer) -> None:
    mount(
        app,
        groups={
            "db": command_group(
                "db",
                "Upgrade and check the database schema; least-privilege GRANTs.",
                {"upgrade": upgrade_command, "check": check_command, "grants": grants_command},
            )
        },
    )
