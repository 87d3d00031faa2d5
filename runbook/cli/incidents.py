"""`runbook incidents list`: find incidents by status, age, playbook or text; ledgers are never
listed (they are trails, not incidents). No Prefect import: it reads the database only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from runbook.cli.common import database, fail

STATUSES = ("open", "running", "waiting", "completed", "failed", "cancelled")


def _since(text: str) -> datetime:
    """An ISO date or time, or a span back from now: 30m, 12h, 7d."""
    text = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since wants an ISO date or time (2026-11-01) or a span (7d, 12h, 30m), got {text!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def matches(incident: Any, text: str) -> bool:
    """Case-insensitive search in the slug, title, playbook, requester and text inputs."""
    needle = text.casefold()
    haystack = [incident.slug, incident.title, incident.playbook_id, incident.requester, incident.severity or ""]
    haystack += [str(v) for v in (incident.inputs or {}).values() if isinstance(v, (str, int, float))]
    return any(needle in str(h).casefold() for h in haystack)


def row(incident: Any) -> dict[str, Any]:
    return {
        "id": incident.id,
        "slug": incident.slug,
        "title": incident.title,
        "status": incident.status,
        "kind": getattr(incident, "kind", "incident"),
        "playbook": incident.playbook_id,
        "severity": incident.severity,
        "requester": incident.requester,
        "created_at": incident.created_at.isoformat(),
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "flow_run_id": incident.flow_run_id,
    }


def list_command(
    status: Annotated[str | None, typer.Option(help=f"Only this status ({', '.join(STATUSES)})")] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after: ISO date/time, or 7d, 12h, 30m")] = None,
    playbook: Annotated[str | None, typer.Option(help="Only incidents of this playbook id")] = None,
    search: Annotated[str | None, typer.Option(help="Text in the slug, title, requester or inputs")] = None,
    drills: Annotated[bool, typer.Option("--drills", help="Include drills")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list")] = False,
) -> None:
    """List incidents, newest first (never the ledgers)."""
    from runbook.audit import list_incidents

    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    after = _since(since) if since else None
    kinds = ["incident", "drill"] if drills else ["incident"]
    found = [
        i
        for i in list_incidents(database(), status=status, kind=kinds)
        if (after is None or i.created_at >= after)
        and (playbook is None or i.playbook_id == playbook)
        and (not search or matches(i, search))
    ]
    found.reverse()
    if as_json:
        typer.echo(json.dumps([row(i) for i in found], indent=2))
        return
    if not found:
        typer.echo("no incidents match")
        return
    width = max(len(i.slug) for i in found)
    for i in found:
        typer.echo(f"{i.slug:<{width}}  {i.status:<9}  {i.created_at:%Y-%m-%d %H:%M}  {i.playbook_id}  {i.title}")
    typer.echo(f"{len(found)} incident(s)", err=True)
