"""Assembles the `runbook` Typer app from the command-group modules.

Each group module exposes `register(app)`; heavy imports (Prefect, SQLAlchemy) stay inside
command functions so that `runbook check` starts fast.
"""

from __future__ import annotations

import sys

import typer

from runbook.cli import audit, channels, check, db, drill, engine, listen, postmortem, posts, slack, statements
from runbook.errors import RunbookError, exit_code

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
drill.register(app)
db.register(app)  # the schema group, last in `runbook --help`


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. A `RunbookError` that no command handled becomes one line on stderr and its
    family's exit code (`runbook.errors`); `--debug` anywhere on the line shows the traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, prog_name="runbook")
    except RunbookError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(exit_code(error)) from None


if __name__ == "__main__":
    main()
