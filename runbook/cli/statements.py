"""`runbook check-statement`: the doctrine and pre-publish checks on a statement (or a personal
reply) from a file or stdin; prints each finding with its rule id, exits 1 when one blocks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from runbook.cli.common import fail


def register(app: typer.Typer) -> None:
    app.command("check-statement")(check_statement)


def check_statement(
    source: Annotated[str, typer.Argument(help="File with the statement, or - for stdin")],
    lang: Annotated[str, typer.Option("--lang", help="en or nl")] = "en",
    platform: Annotated[
        str, typer.Option("--platform", help="x, instagram, linkedin, facebook, mastodon or bluesky")
    ] = "facebook",
    account: Annotated[
        str | None, typer.Option("--account", help="Account it goes out on (default: brand.yaml's)")
    ] = None,
    reply: Annotated[bool, typer.Option("--reply", help="Check it as a personal reply, not a statement")] = False,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="brand.yaml (default ./brand.yaml if present)")
    ] = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    encoding: Annotated[str | None, typer.Option(help="The file's encoding (default UTF-8)")] = None,
) -> None:
    """Check a statement against the doctrine (apology, no excuses or blame, concrete steps, the
    people affected, values, readability) and every pre-publish check."""
    from runbook.checks import PackError, PolicyError
    from runbook.checks.platforms import platform_names
    from runbook.messaging.brand import load_brand
    from runbook.messaging.doctrine import MessageChecker

    if lang not in ("en", "nl"):
        fail(f"--lang must be en or nl, got {lang!r}", code=2)
    if platform not in platform_names():
        fail(f"--platform must be one of {', '.join(platform_names())}, got {platform!r}", code=2)
    if policy is not None and not policy.exists():
        fail(f"--policy {policy}: no such file", code=2)
    from runbook.checks.textfile import decode_text

    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        text = decode_text(raw, name="stdin" if source == "-" else source, encoding=encoding)
    except OSError as exc:
        fail(f"{source}: {exc.strerror or exc}", code=2)
    except ValueError as exc:
        fail(str(exc), code=2)
    try:
        brand = load_brand(policy)
        with MessageChecker(brand, links=False if no_links else None) as checker:
            result = checker.check(
                text.strip(),
                language=lang,
                platform=platform,
                account=account,
                target="reply" if reply else "statement",
            )
    except (PolicyError, PackError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(
            json.dumps(
                {"blocked": result.blocked, "findings": result.to_list(), "notes": result.notes},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for finding in result.findings:
            typer.echo(f"{finding.severity.upper():5} {finding.rule}: {finding.message}")
        for note in result.notes:
            typer.echo(f"note: {note}")
        typer.echo(
            f"BLOCKED: {len(result.blocks)} finding(s) block it"
            if result.blocked
            else f"OK ({len(result.warnings)} warning(s))"
        )
    raise typer.Exit(1 if result.blocked else 0)
