"""Assembles the `runbook` Typer app from the command-group modules.

Each group module exposes `register(app)`; heavy imports (Prefect, SQLAlchemy) stay inside
command functions so that `runbook check` starts fast.
"""

from __future__ import annotations

import typer

from runbook.cli import audit as audit_cli
from runbook.cli import check as check_cli
from runbook.cli import engine as engine_cli

app = typer.Typer(
    name="runbook",
    help="Run a brand's communications crisis end to end: playbooks, sign-offs, audit trail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (check_cli, engine_cli, audit_cli):
    module.register(app)
__import__("runbook.cli.posts", fromlist=["register"]).register(app)  # post queue commands (issue 4)
__import__("runbook.cli.postmortem", fromlist=["register"]).register(app)  # post-mortem commands (issue 8)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
