"""Assembles the `runbook` Typer app from the command-group modules.

Each group module exposes `register(app)`; heavy imports (Prefect, SQLAlchemy) stay inside
command functions so that `runbook check` starts fast.
"""

from __future__ import annotations

import typer

from runbook.cli import audit, check, engine, listen, postmortem, posts, slack, statements
from runbook.cli import db

app = typer.Typer(
    name="runbook",
    help="Run a brand's communications crisis end to end: playbooks, sign-offs, audit trail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order is the order of `runbook --help`: the playbook language, the engine, then each domain.
for module in (check, engine, audit, posts, listen, statements, postmortem, slack):
    module.register(app)
db.register(app)  # noqa: E305 - the schema group, last in `runbook --help`


def main() -> None:
    from runbook.db import SchemaNotReady

    try:
        app()
    except SchemaNotReady as exc:  # raised by any command that opens the database
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
