"""Assembles the `runbook` Typer app from the command-group modules.

Each group module exposes `register(app)`; heavy imports (Prefect, SQLAlchemy) stay inside
command functions so that `runbook check` starts fast.
"""

from __future__ import annotations

import typer

from runbook.cli import audit, channels, check, engine, listen, postmortem, posts, slack, statements

app = typer.Typer(
    name="runbook",
    help="Run a brand's communications crisis end to end: playbooks, sign-offs, audit trail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order is the order of `runbook --help`: the playbook language, the engine, then each domain.
for module in (check, engine, audit, posts, listen, statements, postmortem, slack, channels):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
