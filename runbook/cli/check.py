"""`runbook check` (validate playbooks and the roster) and `runbook schema` (JSON Schema for editors).

Kept free of Prefect and database imports: checking a playbook starts in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_SCHEMA = Path("docs/playbook.schema.json")


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("schema")(schema)


def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Playbook files or folders (default: playbooks/)")] = None,
    roster: Annotated[
        Path | None, typer.Option(help="Roster file (default RUNBOOK_ROSTER, else ./roster.yaml)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of {file,line,column,path,message}")
    ] = False,
) -> None:
    """Validate playbooks and the roster; exit 1 when anything is wrong."""
    from runbook.settings import Settings
    from runbook.spec import SpecError, load_playbook, load_roster, playbook_files
    from runbook.steps.registry import load_kinds

    settings = Settings()
    roster_path = roster or settings.paths.resolved_roster
    issues = []
    roster_model = None
    if roster is not None or roster_path.exists():
        try:
            roster_model = load_roster(roster_path)
        except SpecError as exc:
            issues.extend(exc.errors)
    files = playbook_files(paths or [settings.paths.playbooks_dir])
    if not files:
        _fail(f"no playbooks found in {', '.join(str(p) for p in (paths or [settings.paths.playbooks_dir]))}", as_json)
    kinds = load_kinds()
    for file in files:
        try:
            load_playbook(file, kinds=kinds, roster=roster_model, templates_dir=settings.paths.templates_dir)
        except SpecError as exc:
            issues.extend(exc.errors)
    if as_json:
        typer.echo(json.dumps([i.to_dict() for i in issues], indent=2))
    else:
        for issue in issues:
            typer.echo(str(issue), err=True)
        bad = {i.file for i in issues}
        roster_note = f", roster {roster_path}" if roster_model is not None or roster_path.exists() else ", no roster"
        summary = f"{len(files) - len(bad & {str(f) for f in files})}/{len(files)} playbooks valid{roster_note}"
        typer.echo(("OK: " if not issues else f"{len(issues)} problem(s): ") + summary)
    raise typer.Exit(1 if issues else 0)


def schema(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the schema")] = DEFAULT_SCHEMA,
) -> None:
    """Write the JSON Schema of a playbook (editors validate as you type)."""
    from runbook.spec.schema import playbook_schema
    from runbook.steps.registry import load_kinds

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(playbook_schema(load_kinds()), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([{"file": "", "line": 0, "column": 0, "path": "", "message": message}]))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
