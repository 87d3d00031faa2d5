"""`runbook mentions concerns`: what people are upset about in a window (runbook.listen.concerns),
each concern with its size, negative share, sample texts and top authors by reach."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer


def concerns_command(
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Brand account: handle or platform:handle (repeat; default all)"),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time (default: 24 hours before --until)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time (default: now)")] = None,
    max_concerns: Annotated[int, typer.Option("--max", min=2, max=20, help="At most this many concerns")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Group the window's negative mentions into concerns, each labelled by its most distinctive words."""
    from runbook.audit.models import as_utc
    from runbook.cli.common import fail
    from runbook.cli.listen import _config, _services, _time
    from runbook.listen.concerns import concerns_in_window

    end = _time(until, "--until") or as_utc(None)
    start = _time(since, "--since") or end - timedelta(hours=24)
    if start >= end:
        fail("--since must be before --until", code=2)
    pairs = []
    for item in account or []:
        platform, _, handle = item.rpartition(":")
        if not handle.strip("@ "):
            fail(f"--account {item!r}: expected handle or platform:handle", code=2)
        pairs.append((platform or None, handle.lstrip("@")))
    services = _services()
    media = _config(None, services.db).media
    report = concerns_in_window(
        services.db, accounts=pairs or None, since=start, until=end, media=media, max_concerns=max_concerns
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"{report.negative} negative mentions from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC; "
        f"{report.grouped} in {len(report.concerns)} concerns, {report.other} in none"
    )
    for c in report.concerns:
        authors = ", ".join(f"@{a['author']} ({a['followers']:,})" for a in c.top_authors[:3])
        typer.echo(
            f"\n{c.id} {c.label}: {c.size} mentions ({c.share:.0%}), {c.negative_share:.0%} negative"
            + (f", {c.press} from media" if c.press else "")
        )
        typer.echo(f"   words: {', '.join(c.terms)}")
        if authors:
            typer.echo(f"   top authors by reach: {authors}")
        for sample in c.samples[:3]:
            typer.echo(f"   - {sample[:160]}")
