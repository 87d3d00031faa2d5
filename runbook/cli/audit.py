"""Audit commands: verify, show, export.

Database and rich imports stay inside the commands so `runbook --help` and `runbook check`
start fast; nothing here imports Prefect.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from runbook.cli.common import Output, check_format, command_group, database, fail, mount

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from runbook.audit import Incident

DETAILS_WIDTH = 48
PIPED_WIDTH = 160  # a file or pipe has no width; wide enough that no column is cut


def _incident(engine: Engine, ref: str) -> Incident:
    from runbook.audit import get_incident

    incident = get_incident(engine, ref)
    if incident is None:
        fail(f"no incident {ref!r} (give its id or slug)")
    return incident


def verify_command(
    incident: Annotated[str | None, typer.Option("--incident", "-i", help="Only this incident (id or slug)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Recompute every hash and check links, contiguity and checkpoints. Exit 1 if anything is wrong."""
    from runbook.audit import get_incident, verify

    engine = database()
    incident_id = _incident(engine, incident).id if incident else None
    report = verify(engine, incident_id, triggers=True)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif report.ok:
        typer.echo(f"OK: {report.checked} events in {report.incidents} incidents verified")
    else:
        first = report.problems[0]
        owner = get_incident(engine, first.incident_id) if first.incident_id else None
        name = owner.slug if owner else first.incident_id
        where = f"incident {name} seq {first.seq}" if first.incident_id else "database"
        typer.echo(f"FAILED: {where}: {first.kind}: {first.message}", err=True)
        if len(report.problems) > 1:
            typer.echo(f"({len(report.problems) - 1} more problem(s); use --json for all)", err=True)
    if not report.ok:
        raise typer.Exit(code=1)


def _short(details: dict) -> str:
    from runbook.audit import canonical_json

    text = "" if not details else canonical_json(details)
    return text if len(text) <= DETAILS_WIDTH else text[: DETAILS_WIDTH - 1] + "…"


def show_command(
    incident: Annotated[str, typer.Argument(help="Incident id or slug")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON")] = False,
) -> None:
    """The incident's timeline: one row per audit event."""
    from runbook.audit import checkpoints, event_record, events

    engine = database()
    found = _incident(engine, incident)
    trail = events(engine, found.id)
    if as_json:
        typer.echo(json.dumps([event_record(event) for event in trail], indent=2, ensure_ascii=False))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{found.slug} ({found.status}): {found.title}", title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    for column in ("actor", "channel", "action", "step"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="ellipsis", no_wrap=True)
    for event in trail:
        table.add_row(
            str(event.seq),
            event.ts.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            event.channel,
            event.action,
            event.step or "",
            _short(event.details),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPED_WIDTH)
    console.print(table)
    for mark in checkpoints(engine, found.id):
        console.print(f"checkpoint at seq {mark.seq} ({mark.reason}, {mark.ts:%Y-%m-%d %H:%M:%S}): {mark.hash}")


def export_command(
    incident: Annotated[str, typer.Argument(help="Incident id or slug")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv")] = "jsonl",
    output: Output = None,
) -> None:
    """Write the incident's full audit trail, hashes included, for archiving or offline checks."""
    from runbook.audit import events, write_events
    from runbook.audit.export import FORMATS

    check_format(fmt, FORMATS)
    engine = database()
    found = _incident(engine, incident)
    trail = events(engine, found.id)
    if output is None:
        write_events(trail, sys.stdout, fmt)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        count = write_events(trail, out, fmt)
    typer.echo(f"wrote {count} events of {found.slug} to {output}", err=True)


# Registered as db.py registers its group (a name, a help line, the commands): only those differ.
def register(app: typer.Typer) -> None:
    mount(
        app,
        groups={
            "audit": command_group(
                "audit",
                "Check and read the hash-chained audit trail.",
                {"verify": verify_command, "show": show_command, "export": export_command},
            )
        },
    )
