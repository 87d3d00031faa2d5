"""Listening commands: `mentions` (import, evaluate, ingest, list), `monitor` (the spike watcher, or one check
with --once), `alerts` (list, start a playbook, resolve), `ack` and `acks` (convened people).

Heavy imports stay inside the commands, so `runbook check` does not pay for them.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from runbook.cli.common import fail, mount

mentions_app = typer.Typer(help="Mentions of the brand: import exports, ingest channels, list.", no_args_is_help=True)
alerts_app = typer.Typer(help="Spike alerts: list them, start a playbook from one, resolve.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Listening config (default ./listening.yaml, then RUNBOOK_HOME/listening.yaml)"),
]
AsOpt = Annotated[str, typer.Option("--as", help="Who you are: a person id from the roster")]


def register(app: typer.Typer) -> None:
    mount(
        app,
        groups={"mentions": mentions_app, "alerts": alerts_app},
        commands={"monitor": monitor, "ack": ack, "acks": acks},
    )
    # issue 11 (concerns): its own module, registered here.
    from runbook.cli.listen_concerns import concerns_command

    mount(mentions_app, commands={"concerns": concerns_command})


def _services():  # noqa: ANN202 - runbook.engine.services.Services, imported lazily
    from runbook.engine.services import build_services

    return build_services(migrate=True)


def _config(path: Path | None, engine: Any):  # noqa: ANN202
    from runbook.listen.config import ConfigError, load_config
    from runbook.settings import Settings

    if path is None:
        path = Settings().listening_file()
    elif not path.exists():
        fail(f"--config {path}: no such file", code=2)
    try:
        return load_config(path, engine=engine)
    except ConfigError as exc:
        fail(str(exc))


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    from runbook.audit.models import as_utc

    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        fail(f"{option}: not an ISO time: {value!r}", code=2)


# -- mentions --------------------------------------------------------------------------------
@mentions_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Export of a listening tool: .csv (header row) or .jsonl")],
    platform: Annotated[
        str | None, typer.Option("--platform", help="Platform of rows without one (x, facebook, ...)")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Brand account of rows without one")] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="column=field (repeat); fields: ref, text, author, "
            "author_followers, created_at, platform, account, url, "
            "in_reply_to, language, engagement, kind",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="The file's encoding; undecodable bytes are an "
            "error (default: detected, UTF-8/UTF-16, "
            "else Windows-1252 with a warning)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Store every good row (deduplicated like live ingestion); report each bad row by line (exit 1 if any).

    --account overrides the file's account column; accounts are stored as handles ("US Airways" ->
    USAirways). Columns with no field are kept in each mention's meta, and listed."""
    from runbook.listen.importer import ImportFileError, import_mentions, parse_map

    if not file.exists():
        fail(f"{file}: no such file", code=2)
    try:
        mapping = parse_map(maps)
    except ValueError as exc:
        fail(str(exc), code=2)
    services = _services()
    try:
        report = import_mentions(
            services.db,
            file,
            platform=platform.lower() if platform else None,
            account=account,
            mapping=mapping,
            encoding=encoding,
        )
    except ImportFileError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(
            f"{report.inserted} new mentions from {report.good} good rows of {report.rows} "
            f"({report.duplicates} already stored, {len(report.bad)} bad) in {file}"
        )
        if report.kept_in_meta:
            typer.echo(f"columns kept in meta (no field of their own): {', '.join(report.kept_in_meta)}")
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        for line, error in report.bad:
            typer.echo(f"{file}:{line}: {error}", err=True)
    if report.bad:
        raise typer.Exit(1)


@mentions_app.command("evaluate")
def evaluate_command(
    file: Annotated[Path, typer.Argument(help="Labelled export: .csv (header row) or .jsonl")],
    label_column: Annotated[str, typer.Option("--label-column", help="Column with the human label")],
    maps: Annotated[
        list[str] | None,
        typer.Option("--map", help="The file's labels: negative=neg,neutral=neu,... (repeat or comma-separate)"),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option("--text-column", help="Column with the text (default: text)")
    ] = None,
    language_column: Annotated[
        str | None, typer.Option("--language-column", help="Column with the language (default: detected)")
    ] = None,
    analyzer: Annotated[
        str | None, typer.Option("--analyzer", help="package.module:factory (default: the complaint model)")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="The file's encoding (default: detected)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a labelled export: precision, recall, F1 per class, macro-F1 and the confusion matrix,
    for the model and for plain VADER on the same rows."""
    from runbook.listen.evaluate import EvaluationError, evaluate_file, format_scores, parse_label_map
    from runbook.listen.importer import ImportFileError
    from runbook.listen.sentiment import load_analyzer

    if not file.exists():
        fail(f"{file}: no such file", code=2)
    try:
        label_map = parse_label_map(maps)
        model = load_analyzer(analyzer) if analyzer else None
    except (EvaluationError, ValueError, ImportError) as exc:
        fail(str(exc), code=2)
    big = file.stat().st_size > 1_000_000

    def progress(count: int) -> None:
        if big and count % 5000 == 0:
            typer.echo(f"... {count:,} rows scored", err=True)

    try:
        report = evaluate_file(
            file,
            label_column=label_column,
            text_column=text_column,
            label_map=label_map,
            language_column=language_column,
            analyzer=model,
            encoding=encoding,
            progress=progress,
        )
    except (EvaluationError, ImportFileError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    typer.echo(
        f"{report.rows} labelled rows in {file}"
        + (f" ({len(report.skipped)} without a label skipped)" if report.skipped else "")
    )
    for line in [
        *format_scores(f"model ({report.model})", report.scores),
        "",
        *format_scores("plain VADER", report.vader),
    ]:
        typer.echo(line)
    gain = report.scores.macro_f1 - report.vader.macro_f1
    typer.echo(f"macro-F1 {report.scores.macro_f1:.3f} vs plain VADER {report.vader.macro_f1:.3f} ({gain:+.3f})")


@mentions_app.command("ingest")
def ingest_command(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Fetch new mentions of every configured brand account from every source (no spike check)."""
    from runbook.listen.monitor import run_once

    services = _services()
    tick = run_once(services.db, _config(config, services.db), check=False, escalate=False, via="cli")
    results = tick.ingested
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    for r in results:
        typer.echo(
            f"{r.source} {r.platform or '*'}:{r.account}: {r.inserted} new of {r.fetched} fetched "
            f"({r.pages} pages), cursor {r.cursor}"
        )
    for error in tick.errors:
        typer.echo(f"error: {error}", err=True)
    if tick.errors:
        raise typer.Exit(1)


@mentions_app.command("list")
def list_command(
    account: Annotated[list[str] | None, typer.Option("--account", help="Brand account (repeat)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time (default: 24 hours ago)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time (default: now)")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Stored mentions in a window, oldest first."""
    from runbook.audit.models import as_utc
    from runbook.listen.store import mentions_in_window

    end = _time(until, "--until") or as_utc(None)
    start = _time(since, "--since") or end - timedelta(hours=24)
    found = mentions_in_window(_services().db, since=start, until=end, accounts=account or None, limit=limit)
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in found], indent=2, ensure_ascii=False))
        return
    for m in found:
        mark = "-" if m.negative else ("+" if m.sentiment >= 0.05 else " ")
        typer.echo(
            f"{m.created_at:%Y-%m-%d %H:%M} {m.platform}:{m.ref} {mark}{m.sentiment:+.2f} {m.language} "
            f"@{m.author} ({m.author_followers:,}): {m.text[:120]}"
        )


# -- monitor ---------------------------------------------------------------------------------
def monitor(
    once: Annotated[bool, typer.Option("--once", help="Run one check and exit")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Time between checks (default: the config's, 1m)")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="Check as of this ISO time (replays, demos)")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Check stored mentions only")] = False,
    no_run: Annotated[bool, typer.Option("--no-run", help="An auto-started incident gets no flow run")] = False,
) -> None:
    """Watch for spikes: ingest, check every brand, alert (once per spike), escalate unacknowledged people."""
    from runbook.engine import listen_wiring as wiring
    from runbook.listen.monitor import run_once
    from runbook.spec.durations import parse_duration

    services = _services()
    cfg = _config(config, services.db)
    if not cfg.brands:
        fail(
            "no brands to watch: write a listening.yaml (docs/listening.md) or load the sandbox (runbook sandbox storm)"
        )
    try:
        pause = parse_duration(interval) if interval else cfg.interval
    except ValueError as exc:
        fail(f"--interval: {exc}", code=2)
    when = _time(at, "--at")
    notes: list[str] = []
    starter = wiring.engine_starter(services, create_run=not no_run, notes=notes)
    chat = wiring.alert_chat(services)
    try:
        roster = services.roster()
    except FileNotFoundError:
        roster = None
    while True:
        # With --json, stdout carries only the JSON: the console chat's messages go to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            tick = run_once(
                services.db,
                cfg,
                now=when,
                chat=chat,
                starter=starter,
                roster=roster,
                chat_for=wiring.incident_chat(services),
                via="cli",
                ingest=not no_ingest,
            )
        tick.errors.extend(notes)
        notes.clear()
        _print_tick(tick, as_json)
        if once:
            raise typer.Exit(1 if tick.errors else 0)
        time.sleep(pause.total_seconds())
        when = None


def _print_tick(tick: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(tick.to_dict(), indent=2, ensure_ascii=False))
        return
    new = sum(r.inserted for r in tick.ingested)
    typer.echo(
        f"{tick.at:%Y-%m-%d %H:%M:%S} UTC: {new} new mentions; {len(tick.outcomes)} brands checked "
        f"in {tick.seconds:.2f}s"
    )
    for outcome in tick.outcomes:
        c = outcome.check
        line = (
            f"  {outcome.brand}: {outcome.action}; {c.volume} in window (threshold {c.threshold:.1f}, "
            f"baseline {c.baseline_mean:.1f} ± {c.baseline_std:.1f}), negative {c.negative_share:.0%}"
        )
        if outcome.alert is not None and outcome.action in ("opened", "still_open"):
            line += f"; alert {outcome.alert.id[:8]} ({', '.join(outcome.alert.reasons)})"
        if outcome.incident is not None:
            line += f"; started {outcome.incident.slug}"
        typer.echo(line)
        for error in outcome.errors:
            typer.echo(f"    {error}", err=True)
    for e in tick.escalations:
        typer.echo(f"  escalated: {e.person} ({e.team}) -> {e.deputy or 'nobody'}")
    for error in tick.errors:
        typer.echo(f"  error: {error}", err=True)


# -- alerts ----------------------------------------------------------------------------------
@alerts_app.command("list")
def alerts_list(
    all_: Annotated[bool, typer.Option("--all", help="Also resolved alerts")] = False, as_json: JsonOpt = False
) -> None:
    from runbook.listen.alerts import list_alerts

    found = list_alerts(_services().db, status=None if all_ else "open")
    if as_json:
        typer.echo(json.dumps([a.to_dict() for a in found], indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("no open alerts" if not all_ else "no alerts")
    for a in found:
        typer.echo(
            f"{a.id[:8]} {a.status:8} {a.opened_at:%Y-%m-%d %H:%M} {a.headline()}"
            + (f" -> {a.details.get('incident_slug') or a.incident_id}" if a.incident_id else "")
        )


@alerts_app.command("start")
def alerts_start(
    alert: Annotated[str, typer.Argument(help="Alert id (or its first 8 characters)")],
    person: AsOpt,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Playbook (default: the alert rule's)")] = None,
    no_run: Annotated[bool, typer.Option("--no-run", help="Create the incident without a flow run")] = False,
) -> None:
    """Start a playbook from an alert (once: a second start shows the incident already started)."""
    from runbook.engine import listen_wiring as wiring
    from runbook.engine.commands import CommandError
    from runbook.listen.alerts import AlertBusy, get_alert, start_from_alert

    services = _services()
    found = get_alert(services.db, alert)
    if found is None:
        fail(f"no alert {alert!r} (see `runbook alerts list --all`)")
    cfg = _config(None, services.db)
    rule = cfg.rule_for(found.brand)
    chosen = playbook or (rule.playbook if rule else None)
    if not chosen:
        fail("no playbook: give --playbook")
    notes: list[str] = []
    try:
        incident = start_from_alert(
            services.db,
            found.id,
            playbook=chosen,
            requester=person,
            starter=wiring.engine_starter(services, create_run=not no_run, notes=notes),
            via="cli",
            extra_inputs=rule.inputs if rule else None,
        )
    except (CommandError, AlertBusy) as exc:
        fail(str(exc))
    typer.echo(f"incident {incident.slug} ({chosen}) for alert {found.id[:8]}")
    for note in notes:
        typer.echo(f"warning: {note}", err=True)


@alerts_app.command("resolve")
def alerts_resolve(
    alert: Annotated[str, typer.Argument(help="Alert id (or its first 8 characters)")],
    person: AsOpt,
    reason: Annotated[str, typer.Option("--reason")] = "resolved by hand",
) -> None:
    from runbook.listen.alerts import get_alert, resolve_alert

    services = _services()
    found = get_alert(services.db, alert)
    if found is None:
        fail(f"no alert {alert!r}")
    if services.roster().person(person) is None:
        fail(f"--as {person}: not on the roster", code=2)
    done = resolve_alert(services.db, found.id, actor=person, reason=reason, via="cli")
    typer.echo(f"alert {done.id[:8]} {done.status}")


# -- acknowledgements ------------------------------------------------------------------------
def ack(
    incident: Annotated[str, typer.Argument(help="Incident slug or id")],
    person: AsOpt,
    step: Annotated[str | None, typer.Option("--step", help="Only this convene step")] = None,
) -> None:
    """Acknowledge that you were convened for an incident."""
    from runbook.audit import get_incident
    from runbook.listen.convene import acknowledge

    services = _services()
    found = get_incident(services.db, incident)
    if found is None:
        fail(f"no incident {incident!r}")
    try:
        answered = acknowledge(services.db, incident_id=found.id, person=person, via="cli", step_id=step)
    except LookupError as exc:
        fail(str(exc))
    if not answered:
        typer.echo(f"{person} had already acknowledged {found.slug}")
        return
    typer.echo(f"{person} acknowledged {found.slug} ({', '.join(sorted({r.team for r in answered}))})")


def acks(
    incident: Annotated[str, typer.Argument(help="Incident slug or id")],
    escalate: Annotated[
        bool, typer.Option("--escalate", help="First escalate every request past its deadline")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Who was convened, who acknowledged, who was escalated to a deputy."""
    from runbook.audit import get_incident
    from runbook.engine import listen_wiring as wiring
    from runbook.listen.convene import ack_status, escalate_overdue

    services = _services()
    found = get_incident(services.db, incident)
    if found is None:
        fail(f"no incident {incident!r}")
    if escalate:
        escalate_overdue(services.db, roster=services.roster(), chat_for=wiring.incident_chat(services))
    rows = ack_status(services.db, found.id)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        typer.echo(f"nobody was convened for {found.slug}")
    for r in rows:
        deputy = f" (deputy of {r.deputy_of})" if r.deputy_of else ""
        typer.echo(f"{r.step_id} {r.team:16} {r.person:10}{deputy} {r.state:12} deadline {r.deadline:%Y-%m-%d %H:%M}")
