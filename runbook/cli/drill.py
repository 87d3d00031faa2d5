"""`runbook drill ...`: rehearse a playbook against a simulated public, and read the score.

start SCENARIO      a live drill (an incident of kind drill, sandbox only) on the Prefect server
report INCIDENT     the drill's post-mortem with its score, curve and moments (md, html, json)
history             drills compared over time (md, html, json)
rehearse SCENARIO   play a policy offline against the public (no Prefect), print the score
check FILE...       validate scenario files (FILE:LINE:COL errors)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from runbook.cli.common import Output, ReportFormat, check_format, fail, mount, write_output

if TYPE_CHECKING:
    from runbook.drill.policy import Policy
    from runbook.drill.scenario import Scenario

drill_app = typer.Typer(
    help="Crisis drills: rehearse a playbook against a simulated public, and score the team.", no_args_is_help=True
)
FORMATS = ("md", "html", "json")


Loaded = TypeVar("Loaded")


def register(app: typer.Typer) -> None:
    mount(app, groups={"drill": drill_app})


def _load(ref: str, find: Callable[[str], Path], load: Callable[[Path], Loaded], what: str) -> Loaded:
    """A scenario or policy by id or file; a missing or invalid one is one error line."""
    from runbook.spec import SpecError

    try:
        return load(find(ref))
    except FileNotFoundError as exc:
        fail(str(exc))
    except SpecError as exc:
        fail(f"invalid {what}:\n{exc}")


def _scenario(ref: str) -> Scenario:
    from runbook.drill.scenario import find_scenario, load_scenario

    return _load(ref, find_scenario, load_scenario, "scenario")


def _policy(ref: str) -> Policy:
    from runbook.drill.policy import find_policy, load_policy

    return _load(ref, find_policy, load_policy, "policy")


@drill_app.command("start")
def start(
    scenario: Annotated[str, typer.Argument(help="Scenario id (in drills/) or file")],
    seed: Annotated[int, typer.Option(help="Seed of the simulated public")] = 1,
    speed: Annotated[float, typer.Option(help="Simulated seconds per second (60: a 6-hour storm in 6 minutes)")] = 12.0,
    playbook: Annotated[str | None, typer.Option(help="Playbook to rehearse (default: the scenario's)")] = None,
    auto: Annotated[str | None, typer.Option(help="Play the team from a policy (a built-in name or a file)")] = None,
    person: Annotated[str | None, typer.Option("--as", help="Who starts the drill (roster id)")] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 3600,
) -> None:
    """Start a drill: a real incident flagged as a drill, on the sandbox network only."""
    from runbook.cli.engine import _require_prefect, _services, prefect_environment
    from runbook.drill.live import DrillError, run_drill
    from runbook.drill.result import read_drill

    spec = _scenario(scenario)
    policy = _policy(auto) if auto else None
    services = _services()
    prefect_environment(services.settings)
    _require_prefect(services.settings)

    shown: set[int] = set()

    def progress(run, plan, incident, trail) -> None:  # noqa: ANN001 - the driver's tick
        if run.public is not None and run.public.t % 30 == 0 and run.public.series and run.public.t not in shown:
            shown.add(run.public.t)
            last = run.public.series[-1]
            typer.echo(
                f"[drill {incident.slug}] T+{run.public.t} min, {len(run.public.mentions)} mentions "
                f"({last['negative']}/{last['total']} negative this minute)",
                err=True,
            )

    try:
        # Every option of the command, passed on by name to the drill driver (runbook.drill.run_drill).
        run = run_drill(
            services=services,
            scenario=spec,
            seed=seed,
            speed=speed,
            playbook=playbook,
            policy=policy,
            requester=person,
            timeout=timeout,
            on_tick=progress,
        )
    except DrillError as exc:
        fail(str(exc))
    incident = run.incident
    if incident is None:  # the driver ends before its first tick only when starting failed
        fail("the drill did not start an incident; see the worker log")
    result = read_drill(services.db, incident.id)
    typer.echo(incident.slug)
    typer.echo(
        f"drill {incident.slug}: {incident.status}; score {result.score.total:g} / 100 "
        f"(see `runbook drill report {incident.slug}`)",
        err=True,
    )


@drill_app.command("report")
def report(
    incident: Annotated[str, typer.Argument(help="Drill incident id or slug")],
    fmt: ReportFormat = "md",
    output: Output = None,
) -> None:
    """The drill's post-mortem with its score, the public's curve against the baselines, the moments."""
    from runbook.cli.common import database
    from runbook.drill.report import render_drill
    from runbook.drill.result import NotADrill, read_drill
    from runbook.postmortem import build_report

    check_format(fmt, FORMATS)
    db = database()
    try:
        result = read_drill(db, incident)
    except NotADrill as exc:
        fail(str(exc))
    write_output(render_drill(result, fmt, postmortem=build_report(db, result.incident.id)), output)
    if not result.verified:
        typer.echo("warning: the drill's audit trail failed verification; the score is not trustworthy", err=True)
        raise typer.Exit(1)


@drill_app.command("history")
def history(
    scenario: Annotated[str | None, typer.Option(help="Only drills of this scenario id")] = None,
    fmt: ReportFormat = "md",
    output: Output = None,
) -> None:
    """Drills over time, oldest first, with each score, its change and its components."""
    from runbook.cli.common import database
    from runbook.drill.report import history_rows, render_history

    check_format(fmt, FORMATS)
    write_output(render_history(history_rows(database(), scenario), fmt), output)


@drill_app.command("rehearse")
def rehearse(
    scenario: Annotated[str, typer.Argument(help="Scenario id (in drills/) or file")],
    policy: Annotated[str, typer.Option(help="A built-in policy name or a policy file")] = "textbook",
    seed: Annotated[int, typer.Option(help="Seed of the simulated public")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="The score as JSON")] = False,
) -> None:
    """Play a policy offline against the simulated public (seconds, no Prefect) and print its score."""
    import json

    from runbook.drill.baseline import rehearse as play

    score, public, _ = play(_scenario(scenario), _policy(policy), seed=seed)
    if json_out:
        typer.echo(json.dumps(score.to_json(), indent=2, sort_keys=True))
        return
    typer.echo(f"{scenario} / {policy} / seed {seed}: score {score.total:g} / 100 ({len(public.mentions)} mentions)")
    for c in score.components:
        typer.echo(f"  {c.name:12s} {c.points:5g} / {c.weight:<3d} {c.detail}")


@drill_app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="Scenario files")]) -> None:
    """Validate scenario files; every problem as FILE:LINE:COL: PATH: MESSAGE."""
    from runbook.drill.scenario import load_scenario
    from runbook.spec import SpecError

    bad = 0
    for path in files:
        try:
            load_scenario(path)
            typer.echo(f"{path}: ok")
        except SpecError as exc:
            bad += 1
            typer.echo(str(exc), err=True)
    raise typer.Exit(1 if bad else 0)
