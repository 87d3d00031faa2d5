"""`runbook postmortem INCIDENT`, `runbook incidents report` and `runbook incidents reminders`.
Database imports stay inside the commands and nothing imports Prefect; a report whose trail fails
verification is still written, with its warning, and exits 1.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from runbook.cli.common import Output, ReportFormat, check_format, command_group, database, fail, mount

FORMATS = ("md", "html", "json")


def _time(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} wants an ISO date or time such as 2026-11-01 or 2026-11-01T09:00:00Z, got {text!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def postmortem_command(
    incident: Annotated[str, typer.Argument(help="Incident id or slug")],
    fmt: ReportFormat = "md",
    output: Output = None,
    with_events: Annotated[
        bool, typer.Option("--events", help="JSON: list every audit event, not only the timeline summary")
    ] = False,
) -> None:
    """The incident's post-mortem, built only from its audit trail after verifying it."""
    from runbook.audit import IncidentNotFound
    from runbook.postmortem import Written

    check_format(fmt, FORMATS)
    engine = database()
    try:
        built = Written(engine, incident, fmt, events=with_events)  # JSON streams out; --events spooled
    except IncidentNotFound:
        fail(f"no incident {incident!r} (give its id or slug)")
    report = built.report
    if output is None:
        built.write(sys.stdout)
    else:
        with output.open("w", encoding="utf-8") as out:
            built.write(out)
        typer.echo(f"wrote the {report.state} post-mortem of {report.incident.slug} to {output}", err=True)
    if report.state == "partial":
        typer.echo(f"note: {report.incident.slug} is still running; this is a partial report", err=True)
    if report.state == "untrusted":
        typer.echo(
            f"FAILED: the audit trail of {report.incident.slug} failed verification "
            f"({len(report.verification.problems)} broken entries); every metric is withheld",
            err=True,
        )
        raise typer.Exit(1)


def _cell(value: object, unit: str) -> str:
    from runbook.postmortem import fmt

    if value is None:
        return "—"
    if not isinstance(value, int | float):  # fleet rows hold numbers or None; anything else as it is
        return str(value)
    if unit == "seconds":
        return fmt.duration(float(value))
    return f"{value:g}%" if unit == "percent" else f"{value:g}"


def report_command(
    since: Annotated[str | None, typer.Option("--since", help="Only incidents created at or after this date")] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write every metric as CSV ('-' for stdout)")
    ] = None,
) -> None:
    """The post-mortem metrics across incidents, oldest first, with the median of each headline time."""
    from runbook.postmortem import fleet

    engine = database()
    rows = [fleet.row(r) for r in fleet.reports(engine, since=_time(since, "--since") if since else None)]
    if csv_path is not None and str(csv_path) == "-":
        fleet.write_csv(rows, sys.stdout)
        return
    columns = [
        ("time_to_detect", "detect", "seconds"),
        ("time_to_freeze", "freeze", "seconds"),
        ("time_to_first_statement", "statement", "seconds"),
        ("signoff_wait_median", "sign-off wait", "seconds"),
        ("reply_coverage", "coverage", "percent"),
        ("deviations", "deviations", "count"),
    ]
    table = [["incident", "report"] + [title for _, title, _ in columns]]
    for r in rows:
        table.append([r["slug"], r["report_state"]] + [_cell(r[name], unit) for name, _, unit in columns])
    medians = fleet.trend(rows)
    table.append(
        [f"median of {len(rows)}", ""]
        + [_cell(medians.get(name), unit) if name in medians else "" for name, _, unit in columns]
    )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for n, line in enumerate(table):
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0 or n == len(table) - 2:
            typer.echo("  ".join("-" * w for w in widths))
    untrusted = [r["slug"] for r in rows if r["report_state"] == "untrusted"]
    if untrusted:
        typer.echo(f"FAILED verification, no numbers shown: {', '.join(untrusted)}", err=True)
    if csv_path is not None:
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            count = fleet.write_csv(rows, out)
        typer.echo(f"wrote {count} incident(s) to {csv_path}", err=True)


def reminders_command(
    now: Annotated[str | None, typer.Option("--now", help="Pretend it is this time (default: now)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the due reminders without sending them")] = False,
) -> None:
    """Send the policy follow-up reminders that are due to their incident channels (run it from cron)."""
    from runbook.postmortem import reminders

    engine = database()
    at = _time(now, "--now") if now else None
    if dry_run:
        due = reminders.due_reminders(engine, now=at)
    else:
        from runbook.engine.services import build_services

        services = build_services()
        due = reminders.fire_due(engine, chat_for=services.chat, now=at)
    for item in due:
        typer.echo(
            f"{item.slug}: {item.details.get('what')} (owner {item.details.get('owner') or 'not named'}, "
            f"due {item.details.get('due')})"
        )
    typer.echo(f"{len(due)} reminder(s) {'due' if dry_run else 'sent'}", err=True)


def register(app: typer.Typer) -> None:
    from runbook.cli.incidents import list_command

    incidents = command_group(
        "incidents",
        "Find incidents; reports and reminders across them.",
        {"report": report_command, "reminders": reminders_command, "list": list_command},
    )
    mount(app, groups={"incidents": incidents}, commands={"postmortem": postmortem_command})
