"""Engine commands: plan, start, approve, status, cancel, resume, demo, server, worker, recover.

Prefect, the database and rich are imported inside the commands: `runbook --help` and
`runbook check` stay fast. Every refusal is one line on stderr and exit code 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runbook.cli.common import fail, mount

if TYPE_CHECKING:
    from runbook.engine.services import Services
    from runbook.settings import Settings

DEFAULT_API = "http://127.0.0.1:4200/api"

Inputs = Annotated[list[str] | None, typer.Option("--input", "-i", help="A playbook input, name=value (repeatable)")]
Person = Annotated[str, typer.Option("--as", help="Who you are: a person id from the roster")]


def register(app: typer.Typer) -> None:
    mount(
        app,
        commands={
            "plan": plan,
            "start": start,
            "approve": approve,
            "status": status,
            "cancel": cancel,
            "demo": demo,
            "server": server,
            "worker": worker,
            "recover": recover,
            "resume": resume,
        },
    )


def _settings() -> Settings:
    from runbook.settings import Settings

    return Settings()


def _services(*, migrate: bool = True) -> Services:
    from runbook.db import DatabaseUnavailable, database_errors
    from runbook.engine.services import build_services
    from runbook.spec import SpecError

    settings = _settings()
    try:
        with database_errors():
            services = build_services(settings, migrate=migrate)
            services.roster()
    except FileNotFoundError as exc:
        fail(f"no roster at {exc.filename or settings.paths.resolved_roster} (set RUNBOOK_ROSTER)")
    except SpecError as exc:
        fail(f"the roster is invalid:\n{exc}")
    except DatabaseUnavailable as exc:
        fail(f"cannot open the database {settings.resolved_database_url}: {exc}")
    return services


def prefect_environment(settings: Settings) -> str:
    """Point this process at the Prefect server (before Prefect is imported); returns the API URL.

    Without PREFECT_API_URL, Prefect would start a throw-away server per process, which no worker
    shares; the product's default is the server `runbook server` runs on this machine.
    """
    from runbook.settings import PrefectSettings, export_defaults

    export_defaults(
        {
            "PREFECT_API_URL": DEFAULT_API,
            "PREFECT_HOME": str(_prefect_home(settings)),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    settings.prefect = PrefectSettings.from_env()  # now with the defaults just exported
    return settings.prefect.api_url or DEFAULT_API


def _prefect_home(settings: Settings) -> Path:
    return settings.prefect.home or (settings.paths.home / "prefect").resolve()


def _require_prefect(settings: Settings) -> str:
    url = prefect_environment(settings)
    from runbook.engine.localserver import healthy

    if not healthy(url):
        fail(
            f"no Prefect server answers at {url}: run `runbook server` and `runbook worker` "
            "(or `runbook demo` for a self-contained run)"
        )
    return url


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    from runbook.plan import parse_assignments

    try:
        return parse_assignments(values or [], what=what)
    except ValueError as exc:
        fail(str(exc))


def plan(
    playbook: Annotated[str, typer.Argument(help="Playbook id (in playbooks/) or file")],
    inputs: Inputs = None,
    person: Annotated[
        str | None, typer.Option("--as", help="Requester (default: the first person in the roster)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON")] = False,
) -> None:
    """Show what a playbook would do with these inputs: steps, conditions, who signs, deadlines."""
    from runbook.engine.commands import CommandError, plan_for
    from runbook.spec import SpecError

    services = _services(migrate=False)
    roster = services.roster()
    requester = person or roster.people[0].id
    try:
        resolved = plan_for(
            services=services, playbook_ref=playbook, inputs=_pairs(inputs, "--input"), requester=requester
        )
    except CommandError as exc:
        fail(str(exc))
    except SpecError as exc:  # as `runbook check` says it: file:line:column: path: message
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        fail(f"{len(exc.errors)} problem(s) in playbook {playbook}; fix them (`runbook check` lists them too)")
    if as_json:
        typer.echo(json.dumps(resolved.model_dump(mode="json", by_alias=True), indent=2))
        return
    from runbook.plan import render_plan

    typer.echo(render_plan(resolved, roster=roster))


def start(
    playbook: Annotated[str, typer.Argument(help="Playbook id (in playbooks/) or file")],
    person: Person,
    inputs: Inputs = None,
    title: Annotated[str | None, typer.Option(help="Incident title (default: the summary input)")] = None,
    channel: Annotated[str | None, typer.Option(help="Incident chat channel")] = None,
) -> None:
    """Start an incident: run its immediate steps, create its flow run, print its slug."""
    services = _services()
    prefect_environment(services.settings)
    from runbook.engine.commands import CommandError, plan_for
    from runbook.engine.commands import start as start_incident

    try:
        if services.roster().person(person) is None:
            raise CommandError(f"{person!r} is not in the roster ({services.settings.paths.resolved_roster})")
        plan_for(services=services, playbook_ref=playbook, inputs=_pairs(inputs, "--input"), requester=person)
        _require_prefect(services.settings)
        started = start_incident(
            services=services,
            playbook_ref=playbook,
            inputs=_pairs(inputs, "--input"),
            requester=person,
            title=title,
            channel=channel,
        )
    except CommandError as exc:
        fail(str(exc))
    typer.echo(started.incident.slug)
    typer.echo(f"flow run {started.flow_run_id}; follow it with: runbook status {started.incident.slug}", err=True)


def approve(
    incident: Annotated[str, typer.Argument(help="Incident slug or id")],
    step: Annotated[str, typer.Argument(help="The step whose sign-off you give")],
    person: Person,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approving")] = False,
    comment: Annotated[str, typer.Option(help="A comment for the audit trail")] = "",
    fields: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="A sign-off field, name=value (repeatable)")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the run to reach this sign-off")] = 30.0,
    verdict_wait: Annotated[float, typer.Option(help="Seconds to wait for the flow's verdict on it")] = 20.0,
) -> None:
    """Give (or refuse) a sign-off; the flow checks your role before counting it. Exits 1 when
    the flow refuses the decision; 0 when it counted (or was not judged within --verdict-wait)."""
    services = _services()
    prefect_environment(services.settings)
    from runbook.engine.commands import CommandError, prepare_decision, send

    try:
        decision = prepare_decision(
            services=services,
            incident_ref=incident,
            step_id=step,
            person=person,
            approve=not reject,
            comment=comment,
            fields=_pairs(fields, "--field"),
            channel="cli",
        )
        _require_prefect(services.settings)
        sent = send(decision, wait=wait, db=services.db)
    except CommandError as exc:
        fail(str(exc))
    verb = "rejection" if reject else "approval"
    verdict = _await_verdict(services.db, decision.incident.id, sent["decision_id"], verdict_wait)
    if verdict is not None and verdict.action == "signoff.refused":
        fail(f"{verb} of {sent['step']} by {person} was not counted: {(verdict.details or {}).get('reason')}")
    if verdict is not None:
        typer.echo(
            f"{verb} of {sent['step']} by {person} sent to {sent['incident']} and counted "
            f"({(verdict.details or {}).get('reason', '')})"
        )
        return
    typer.echo(
        f"{verb} of {sent['step']} by {person} sent to {sent['incident']} (decision {sent['decision_id'][:8]}); "
        f"`runbook status {sent['incident']}` shows whether it counted"
    )


def _await_verdict(db, incident_id: str, decision_id: str, timeout: float):
    """The flow's signoff.* event for this decision, or None after `timeout` (no worker running)."""
    import time

    from runbook.audit import events

    end = time.monotonic() + timeout
    while True:
        for event in events(db, incident_id):
            if (
                event.action in ("signoff.approved", "signoff.rejected", "signoff.refused")
                and (event.details or {}).get("decision_id") == decision_id
            ):
                return event
        if time.monotonic() >= end:
            return None
        time.sleep(0.3)


def status(
    incident: Annotated[str | None, typer.Argument(help="Incident slug or id (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Incidents, their current step, pending sign-offs and who may give them; every active freeze
    and its age (flagged when its incident ended); incidents whose playbook changed since they started."""
    from runbook.engine.commands import CommandError, freezes_status
    from runbook.engine.commands import status as read_status

    services = _services()
    try:
        rows = read_status(services=services, incident_ref=incident)
    except CommandError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    active = freezes_status(services=services) if incident is None else []
    if not rows:
        typer.echo("no incidents")
        _print_freezes(active)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=None, show_lines=False)
    table.add_column("incident", no_wrap=True)
    for column in ("status", "playbook", "current step", "pending sign-off", "may sign"):
        table.add_column(column, overflow="fold")
    for row in rows:
        pending = row.pending[0] if row.pending else None
        needs = ""
        who = ""
        if pending:
            needs = pending.step + (f" ({len(pending.approvals)}/{pending.quorum})" if pending.quorum > 1 else "")
            needs += " escalated" if pending.escalated else ""
            who = ", ".join(p for p in pending.signers if p not in pending.approvals)
        table.add_row(
            row.slug + (f" ({row.kind})" if row.kind != "incident" else ""),
            row.status,
            row.playbook,
            row.current_step or "",
            needs,
            who,
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    for row in rows:
        if row.playbook_changed:
            typer.echo(
                f"note: {row.slug} keeps the plan it started with: {row.playbook_changed} "
                "(the edit applies to new incidents only)"
            )
        if incident is not None and row.freeze:
            active.append(row.freeze)
    _print_freezes(active)


def _print_freezes(active: list) -> None:
    """Every active freeze with its age; one whose incident ended is flagged."""
    for f in active:
        f = f if isinstance(f, dict) else f.to_dict()
        owner = f"incident {f['incident']} ({f['incident_status']})" if f["incident"] else "no incident (manual)"
        mark = "ORPHANED " if f["orphaned"] else ""
        kept = f"; kept by {f['kept_by']}: {f['kept_reason']}" if f["kept_by"] else ""
        typer.echo(
            f"{mark}active freeze {f['id']}: {f['age']} old, holds {f['holding']} post(s), "
            f"scope {','.join(f['scope'])}, {owner}{kept}"
        )
        if f["orphaned"]:
            typer.echo(
                f"  its incident ended: `runbook thaw {f['id']} --as PERSON` or "
                f"`runbook freeze keep {f['id']} --as PERSON --reason ...`"
            )


def cancel(
    incident: Annotated[str, typer.Argument(help="Incident slug or id")],
    person: Person,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail)")],
) -> None:
    """Cancel an incident: audited, and its flow run is cancelled."""
    services = _services()
    prefect_environment(services.settings)
    from runbook.engine.commands import CommandError
    from runbook.engine.commands import cancel as cancel_incident

    try:
        closed = cancel_incident(services=services, incident_ref=incident, person=person, reason=reason)
    except CommandError as exc:
        fail(str(exc))
    typer.echo(f"{closed.slug} cancelled")


def resume(
    incident: Annotated[str, typer.Argument(help="Incident slug or id (a failed one)")],
    person: Person,
    from_step: Annotated[
        str | None, typer.Option("--from", help="Resume at this step (default: the failed one)")
    ] = None,
    reason: Annotated[str, typer.Option(help="What was fixed (recorded in the audit trail)")] = "",
) -> None:
    """Carry a failed incident on after a fix: same incident and audit trail, a new flow run from
    the failed step (or --from); steps with side effects that finished are not repeated."""
    services = _services()
    prefect_environment(services.settings)
    from runbook.engine.commands import CommandError
    from runbook.engine.resume import check
    from runbook.engine.resume import resume as resume_incident

    try:
        check(services=services, incident_ref=incident, person=person, from_step=from_step)
        _require_prefect(services.settings)
        resumed = resume_incident(
            services=services, incident_ref=incident, person=person, from_step=from_step, reason=reason
        )
    except CommandError as exc:
        fail(str(exc))
    kept = f"; results kept: {', '.join(resumed.kept)}" if resumed.kept else ""
    typer.echo(
        f"{resumed.incident.slug} resumed from {resumed.start_at} (resume {resumed.generation}, flow run "
        f"{resumed.flow_run_id}){kept}"
    )


def demo(
    scenario: Annotated[str, typer.Option(help="us-airways, red-cross or digiorno")] = "us-airways",
    interactive: Annotated[bool, typer.Option("--interactive", help="You answer each sign-off")] = False,
    network: Annotated[
        str,
        typer.Option(
            help="sandbox, or bluesky: a local Bluesky network when one runs "
            "(RUNBOOK_BLUESKY_PDS, default http://localhost:2583)"
        ),
    ] = "sandbox",
) -> None:
    """Run a doctrine scenario end to end on the embedded defaults (local Prefect server, SQLite)."""
    from runbook.engine.demo import SCENARIOS, DemoError, run_demo

    if scenario not in SCENARIOS:
        fail(f"unknown scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    if network not in ("sandbox", "bluesky"):
        fail(f"unknown network {network!r} (choose from sandbox, bluesky)")
    services = _services()
    seeder = None
    if network == "bluesky":  # seeded before the worker starts, so it inherits the channels file
        from runbook.engine.demo_bluesky import DEFAULT_PDS, available, seed_bluesky

        pds = services.settings.channels.bluesky_pds or DEFAULT_PDS
        if available(pds):
            seeded = seed_bluesky(services, SCENARIOS[scenario], pds=pds)
            typer.echo(
                f"on the local Bluesky network at {pds}: @{seeded.account}, offending post {seeded.offending_post}",
                err=True,
            )
            seeder = lambda _services, _scenario: seeded  # noqa: E731
        else:
            typer.echo(
                f"no Bluesky network answers at {pds}: the demo stays on the sandbox (start one: docs/networks.md)",
                err=True,
            )
    try:
        ok = run_demo(services=services, scenario=SCENARIOS[scenario], interactive=interactive, seeder=seeder)
    except DemoError as exc:
        fail(str(exc))
    raise typer.Exit(0 if ok else 1)


def server(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 4200,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url", help="Where browsers reach the server (behind a proxy: https://prefect.example.org)"
        ),
    ] = None,
) -> None:
    """Run the Prefect server (API and UI). Its database: PREFECT_API_DATABASE_CONNECTION_URL
    (PostgreSQL in production), else SQLite under RUNBOOK_HOME/prefect."""
    import subprocess

    from runbook.engine.localserver import ui_environment
    from runbook.settings import child_environment

    settings = _settings()
    settings.paths.ensure_home()
    env = child_environment({"PREFECT_HOME": str(_prefect_home(settings))})
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.pop("PREFECT_API_URL", None)  # the server itself needs none
    # The UI is a browser app: it calls the API at the URL the server hands it in /ui-settings.
    explicit = {"PREFECT_UI_URL": settings.prefect.ui_url, "PREFECT_UI_API_URL": settings.prefect.ui_api_url}
    for name, value in ui_environment(host=host, port=port, public_url=public_url).items():
        if public_url or not explicit.get(name):  # an explicit PREFECT_UI_* wins over the guess
            env[name] = value
    typer.echo(
        f"Prefect server on http://{host}:{port} (API and UI); the UI is at {env['PREFECT_UI_URL']} "
        f"and calls the API at {env['PREFECT_UI_API_URL']}; PREFECT_HOME={env['PREFECT_HOME']}",
        err=True,
    )
    code = subprocess.call(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)], env=env
    )
    raise typer.Exit(code)


def worker(
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once (default: Prefect's)")] = None,
    poll: Annotated[float, typer.Option(help="Seconds between polls for new runs")] = 1.0,
    stale_after: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before a remote run is rescheduled")
    ] = 120.0,
    no_scheduler: Annotated[
        bool,
        typer.Option("--no-scheduler", help="Do not host the post queue scheduler (run `runbook scheduler` instead)"),
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The Prefect UI's address for links (default: from PREFECT_API_URL)"),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also log the scheduler's and HTTP client's routine lines")
    ] = False,
) -> None:
    """Serve the respond and deadline deployments until stopped; recover runs whose process died;
    host the post queue scheduler unless --no-scheduler."""
    settings = _settings()
    url = _require_prefect(settings)
    from flows.respond import respond, signoff_deadline
    from runbook.engine.localserver import ui_url_from_api
    from runbook.engine.worker import quiet_logs, run_worker
    from runbook.settings import export_defaults

    # Flow runs link to themselves (Slack's pinned status, artifacts) through PREFECT_UI_URL.
    export_defaults({"PREFECT_UI_URL": (public_url or ui_url_from_api(url)).rstrip("/")})
    quiet_logs(verbose=verbose)

    typer.echo(f"worker for {url}", err=True)
    run_worker(
        respond=respond,
        signoff_deadline=signoff_deadline,
        settings=settings,
        limit=limit,
        poll_seconds=poll,
        stale_after=stale_after,
        scheduler=not no_scheduler,
    )


def recover(
    stale_after: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before a remote run counts as dead")
    ] = 120.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be rescheduled")] = False,
) -> None:
    """Repair missing audit events (freezes and thaws committed before their audit), finish remote
    freezes and restores a crash cut off (remote queues of channels.yaml), then reschedule runs whose
    process died mid-step (they rerun from the top; finished steps are kept)."""
    services = _services()
    if not dry_run:
        from runbook.queue.repair import repair_audit

        for line in repair_audit(services.db):
            typer.echo(f"audit repaired: {line}")
    _recover_remote(services, dry_run)
    _require_prefect(services.settings)
    from runbook.engine.recovery import recover as sweep

    found = sweep(db=services.db, stale_after=stale_after, dry_run=dry_run)
    for stale in found:
        verb = "closed the incident of" if stale.reason.startswith("its flow run ended") else "rescheduled"
        typer.echo(f"{'would have ' if dry_run else ''}{verb} {stale.flow} run {stale.flow_run_id}: {stale.reason}")
    if not found:
        typer.echo("nothing to recover")


def _recover_remote(services: Services, dry_run: bool) -> None:
    from runbook.queue.remote import reconcile_remote
    from runbook.queue.remote_config import configured_queues

    queues, problem = configured_queues(services.settings.channels.file)
    if problem:
        typer.echo(f"error: {problem}", err=True)
    if queues and not dry_run:
        for line in reconcile_remote(services.db, queues):
            typer.echo(line)
