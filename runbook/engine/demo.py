"""`runbook demo`: a doctrine scenario end to end on the embedded defaults. Starts the Prefect
server it needs (and stops it), a worker, the incident; answers each sign-off as a roster person
would (or asks you, with --interactive); shows progress live; ends with the audit timeline,
the verification of its hash chain and where to look next.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.engine.services import Services
from runbook.engine.status import incident_status
from runbook.errors import RunbookError
from runbook.settings import PrefectSettings, child_environment, export_defaults

CLOSED = ("completed", "failed", "cancelled")


class DemoError(RunbookError, RuntimeError):
    pass


@dataclass(frozen=True)
class Answer:
    person: str
    fields: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    approve: bool = True


@dataclass(frozen=True)
class Scenario:
    name: str
    story: str
    playbook: str
    title: str
    requester: str
    inputs: dict[str, str]
    # Per step, the decisions in the order they are given; steps not listed are approved by the
    # first person who may sign, with every checklist item ticked.
    script: dict[str, list[Answer]]
    # What the sandbox holds before the incident starts (`seed`): the storm scenario of
    # runbook.sandbox (its brand account, the offending post, `mentions` people wrote back) and
    # `scheduled` posts in the queue for the freeze to hold.
    storm: str = ""
    mentions: int = 50
    scheduled: int = 3


# Three declarations of one dataclass read alike by nature (duplicates reports their shape, with each
# other and with the storms of the same names in runbook/sandbox/scenarios.py): they are the doctrine's
# data, kept as literals so a scenario reads as its story.
SCENARIOS: dict[str, Scenario] = {
    "us-airways": Scenario(
        name="us-airways",
        story="The brand account answered a customer complaint with a pornographic image.",
        playbook="social-media-mistake",
        title="Offensive image in a reply to a customer",
        requester="ana",
        inputs={"summary": "Our reply to a customer complaint contained an offensive image"},
        script={
            "freeze": [Answer("noor", comment="Queue frozen; team told to stop posting")],
            "delete-decision": [
                Answer(
                    "bram",
                    {"choice": "delete"},
                    "Delete: it keeps spreading; screenshots survive, so the apology must own it",
                )
            ],
            "statement": [
                Answer("ana", comment="I started this incident: my approval must not count (two-person rule)"),
                Answer(
                    "lena",
                    {"text": "We are sorry if anyone was offended by a glitch in our replies."},
                    "An excuse and a conditional apology: the step refuses it before it counts",
                ),
                Answer(
                    "lena",
                    {
                        "text": "We are deeply sorry for the offensive image we sent in a reply to a "
                        "customer today. It was our mistake. We removed the reply and we are "
                        "reviewing how every reply is checked."
                    },
                ),
                Answer("bram", comment="Approved as edited by legal"),
            ],
            "replies": [Answer("noor", {"approve_flagged": True}, "Read them all: send")],
            "review": [Answer("ana", {"follow_ups": "Second-person check on media in replies (owner: Bram, 2 weeks)"})],
        },
        storm="us-airways",
        mentions=60,
    ),
    "red-cross": Scenario(
        name="red-cross",
        story="A community manager's personal post ('four more beers...') went out on the brand account.",
        playbook="wrong-account-post",
        title="Personal post on the brand account",
        requester="noor",
        inputs={"summary": "A personal post about beers went out on the brand account"},
        script={
            "delete-decision": [Answer("sam", {"choice": "delete"}, "Personal post: delete at once")],
            "statement": [
                Answer(
                    "ana",
                    {"text": "We've deleted the rogue post. Rest assured we're sober and we've confiscated the keys."},
                    "The 2011 tweet: no apology, so the step refuses it",
                ),
                Answer("ana", comment="The drafted apology, as shown"),
            ],
            "review": [Answer("ana", {"follow_ups": "Separate phones for brand accounts (owner: Sam, 1 week)"})],
        },
        storm="red-cross",
        mentions=30,
    ),
    "digiorno": Scenario(
        name="digiorno",
        story="The brand joined #WhyIStayed (about domestic violence) with a pizza joke.",
        playbook="hashtag-misuse",
        title="Pizza joke on #WhyIStayed",
        requester="sam",
        inputs={
            "summary": "We used #WhyIStayed for a pizza joke without reading what it was about",
            "hashtag": "#WhyIStayed",
        },
        script={
            "delete-decision": [Answer("bram", {"choice": "delete"})],
            "statement": [
                Answer(
                    "lena",
                    {
                        "text": "A million apologies. We did not read what the hashtag was about before "
                        "posting. It was wrong."
                    },
                ),
                Answer("ana"),
            ],
            "replies": [Answer("noor", {"approve_flagged": True}, "Every person gets their own answer")],
            "review": [Answer("ana", {"follow_ups": "Read every trending hashtag before use (owner: Noor, now)"})],
        },
        storm="digiorno",
        mentions=80,
    ),
}


@dataclass(frozen=True)
class Seeded:
    account: str
    offending_post: str
    scheduled: list[str]


def seed(services: Services, scenario: Scenario) -> Seeded:
    """What the step kinds act on, in the sandbox: the brand account's offending post and the
    storm of mentions after it (ingested into the listening store), and a few scheduled posts.
    One storm per scenario and day (seeded by the date): a rerun the same day finds it."""
    from datetime import UTC, datetime, timedelta

    from runbook.listen.ingest import ingest_channel
    from runbook.listen.refs import post_url
    from runbook.sandbox import SandboxChannel, load_storm

    db = services.db
    now = datetime.now(UTC)
    day = int(now.strftime("%Y%m%d"))
    # Most of a storm comes in its first hours: started 20 h ago, nearly all of it is heard by now.
    storm = load_storm(
        db,
        scenario.storm,
        mentions_count=scenario.mentions,
        seed=day,
        start=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=20),
    )
    ingest_channel(db, SandboxChannel(db), source="sandbox", account=storm.account)
    scheduled = schedule_demo_posts(services, scenario, account=storm.account, platform=storm.platform)
    return Seeded(
        account=storm.account, offending_post=post_url(storm.account, storm.offending_ref), scheduled=scheduled
    )


def schedule_demo_posts(services: Services, scenario: Scenario, *, account: str, platform: str) -> list[str]:
    """The scenario's few scheduled posts in our queue, for the freeze to hold and the thaw to release."""
    from datetime import UTC, datetime, timedelta

    from runbook.checks import Checker
    from runbook.queue import NewPost, schedule_posts
    from runbook.queue.jobs import JobBook

    if not scenario.scheduled:
        return []
    now = datetime.now(UTC)
    checker, jobs = Checker(), JobBook(services.db)
    try:
        posts = schedule_posts(
            services.db,
            [
                NewPost(
                    account=account,
                    platform=platform,
                    text=f"Scheduled update {i + 1} from the {account} team.",
                    run_at=now + timedelta(hours=2 + i),
                    author=scenario.requester,
                )
                for i in range(scenario.scheduled)
            ],
            checker=checker,
            jobs=jobs,
            actor=scenario.requester,
            channel="cli",
        )
        return [p.id for p in posts]
    finally:
        jobs.close()
        checker.close()


def default_fields(gate: Any) -> dict[str, Any]:
    """What a diligent approver fills in: every box ticked, the first option, a short note."""
    from runbook.spec.models import FieldType

    out: dict[str, Any] = {}
    for name, spec in gate.fields.items():
        if spec.type is FieldType.bool:
            out[name] = True
        elif spec.type is FieldType.choice:
            out[name] = (spec.options or [""])[0]
        elif spec.type is FieldType.int:
            out[name] = 1
        elif spec.type is FieldType.url:
            out[name] = "https://social.example/demo"
        elif spec.type is FieldType.list:
            out[name] = "demo"
        elif spec.required:
            out[name] = f"(demo) {spec.title or name}"
    return out


def next_answer(
    *, scenario: Scenario, step: Any, sent: int, approvals: list[str], signers: list[str], requester: str
) -> Answer:
    scripted = scenario.script.get(step.id, [])
    base = default_fields(step.gate)
    if sent < len(scripted):
        answer = scripted[sent]
        return Answer(answer.person, {**base, **answer.fields}, answer.comment, answer.approve)
    for person in signers:
        if person not in approvals and not (step.gate.not_requester and person == requester):
            return Answer(person, base)
    return Answer(signers[0] if signers else requester, base)


# -- infrastructure --------------------------------------------------------------------------


def _worker_env(services: Services, api_url: str) -> dict[str, str]:
    env = child_environment({**services.settings.child_env(), "PREFECT_API_URL": api_url})
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path.cwd()), env.get("PYTHONPATH", "")] if p)
    return env


def _start_worker(services: Services, api_url: str, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "flows.worker"],
        env=_worker_env(services, api_url),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen | None) -> None:
    import signal

    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- display ---------------------------------------------------------------------------------

_MARK = {
    "done": "[green]done[/]",
    "skipped": "[dim]skipped[/]",
    "failed": "[red]failed[/]",
    "running": "[cyan]running[/]",
    "waiting": "[yellow]waiting for sign-off[/]",
    "": "",
}


def _view(plan: Any, incident: Any, events: list[Any], started: float):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    state = incident_status(incident, events)
    failed = {e.step for e in events if e.action == "step.failed"}
    skipped = {e.step for e in events if e.action == "step.skipped"}
    table = Table(expand=True, box=None, padding=(0, 1))
    table.add_column("step")
    table.add_column("title")
    table.add_column("state")
    table.add_column("sign-off")
    for step in plan.steps:
        pending = next((p for p in state.pending if p.step == step.id), None)
        if step.id in failed:
            mark = "failed"
        elif step.id in skipped:
            mark = "skipped"
        elif step.id in state.steps_done:
            mark = "done"
        elif pending is not None:
            mark = "waiting"
        elif state.current_step == step.id:
            mark = "running"
        else:
            mark = ""
        who = ""
        if pending is not None:
            who = ", ".join(pending.signers) + (
                f"  ({len(pending.approvals)}/{pending.quorum})" if pending.quorum > 1 else ""
            )
        table.add_row(step.id, step.title, _MARK[mark], who)
    chat = [e for e in events if e.action == "chat.posted"][-4:]
    lines = "\n".join(
        f"[dim]{e.ts.strftime('%H:%M:%S')}[/] {(e.details or {}).get('text', '').splitlines()[0][:110]}" for e in chat
    )
    title = f"{incident.slug}  [{state.status}]  {time.monotonic() - started:5.1f}s"
    return Group(Panel(table, title=title), Panel(lines or "[dim]no messages yet[/]", title="incident channel"))


def print_timeline(console: Any, events: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="Audit timeline", show_lines=False)
    for column in ("seq", "time", "actor", "via", "action", "step", "details"):
        table.add_column(column, overflow="fold")
    start = events[0].ts if events else None
    for e in events:
        if e.action == "chat.posted":
            continue
        d = e.details or {}
        note = d.get("reason") or d.get("comment") or d.get("error") or ""
        if not note and isinstance(d.get("fields"), dict):
            note = ", ".join(f"{k}={v}" for k, v in d["fields"].items() if not str(k).startswith("item_"))[:80]
        table.add_row(
            str(e.seq),
            f"+{(e.ts - start).total_seconds():6.1f}s",
            e.actor,
            e.channel,
            e.action,
            e.step or "",
            str(note)[:90],
        )
    console.print(table)


# -- the run ---------------------------------------------------------------------------------


def run_demo(*, services: Services, scenario: Scenario, interactive: bool = False, seeder: Any = None) -> bool:
    from rich.console import Console

    from runbook.engine.localserver import healthy, start_local_server

    console = Console() if sys.stdout.isatty() else Console(width=140)
    home = services.settings.ensure_home()
    started = time.monotonic()
    console.print(f"[bold]runbook demo: {scenario.name}[/]  {scenario.story}")
    server = None
    worker = None
    api_url = PrefectSettings.from_env().api_url
    try:
        if api_url and healthy(api_url):
            console.print(f"using the Prefect server at {api_url}")
        else:
            with console.status("starting a local Prefect server (first time: ~20 s)..."):
                try:
                    server = start_local_server(
                        prefect_home=(home / "prefect").resolve(), log=home / "demo-prefect.log"
                    )
                except RuntimeError as exc:
                    raise DemoError(str(exc)) from None
            api_url = server.api_url
            console.print(f"Prefect server up at {server.ui_url} ({time.monotonic() - started:.0f}s)")
        os.environ["PREFECT_API_URL"] = api_url
        export_defaults({"PREFECT_HOME": str((home / "prefect").resolve())})
        with console.status("starting a worker..."):
            worker = _start_worker(services, api_url, home / "demo-worker.log")
            from runbook.engine.prefect_io import wait_for_deployments

            try:
                wait_for_deployments()
            except TimeoutError:
                raise DemoError("the worker did not register its deployments in time") from None
        return _drive(
            services=services,
            scenario=scenario,
            interactive=interactive,
            console=console,
            started=started,
            api_url=api_url,
            server_started=server is not None,
            seeder=seeder,
        )
    finally:
        _stop(worker)
        if server is not None:
            server.stop()


# Each wait of a gate ends with exactly one of these (a deadline's escalation included).
ROUND_ACTIONS = ("signoff.approved", "signoff.refused", "signoff.rejected", "signoff.timed_out")


def _awaits(flow_run_id: str | None, step_id: str, rounds: int) -> bool:
    """The run is suspended on `step_id` for a decision beyond the `rounds` already recorded."""
    from runbook.engine.prefect_io import view

    if not flow_run_id:
        return False
    current = view(flow_run_id)
    return current.waiting_for == step_id and current.round == rounds


def play(
    *,
    services: Services,
    scenario: Scenario,
    ask: Any = None,
    on_tick: Any = None,
    timeout: float = 600,
    start_options: dict[str, Any] | None = None,
    seeder: Any = None,
) -> Any:
    """Start the scenario's incident and answer its sign-offs until it closes; returns the incident.

    `ask(step, pending, suggestion) -> Answer` replaces the script (interactive); `on_tick(plan,
    incident, events)` sees every poll (live display). Used by the demo and the scenario tests.
    """
    from runbook.audit import events as read_events
    from runbook.audit import get_incident
    from runbook.engine import commands

    inputs = dict(scenario.inputs)
    if scenario.storm:
        seeded = (seeder or seed)(services, scenario)  # seeder: another network (--network bluesky)
        known = set(services.playbook(scenario.playbook).inputs)
        found: dict[str, Any] = {
            "account": seeded.account,
            "accounts": [seeded.account],
            "offending_post": seeded.offending_post,
        }
        inputs = {**{k: v for k, v in found.items() if k in known}, **inputs}
    try:
        begun = commands.start(
            services=services,
            playbook_ref=scenario.playbook,
            inputs=inputs,
            requester=scenario.requester,
            title=scenario.title,
            via="cli",
            **(start_options or {}),
        )
    except commands.CommandError as exc:
        raise DemoError(str(exc)) from None
    incident, plan = begun.incident, begun.plan
    sent: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while True:
        current = get_incident(services.db, incident.id)
        if current is None:
            raise DemoError(f"incident {incident.slug} is gone from the database")
        incident = current
        trail = read_events(services.db, incident.id)
        if on_tick is not None:
            on_tick(plan, incident, trail)
        if incident.status in CLOSED:
            return incident
        if time.monotonic() > deadline:
            raise DemoError(
                f"{incident.slug} did not finish within {timeout:.0f}s (see {services.settings.home}/demo-worker.log)"
            )
        state = incident_status(incident, trail)
        pending = state.pending[0] if state.pending else None
        rounds = sum(1 for e in trail if e.step == (pending.step if pending else None) and e.action in ROUND_ACTIONS)
        if pending is None or not _awaits(incident.flow_run_id, pending.step, rounds):
            time.sleep(0.25)  # nothing to answer, or our last decision is not recorded yet
            continue
        decided = sum(
            1
            for e in trail
            if e.step == pending.step and e.action in ("signoff.approved", "signoff.refused", "signoff.rejected")
        )
        step = plan.step(pending.step)
        answer = next_answer(
            scenario=scenario,
            step=step,
            sent=sent.get(step.id, 0),
            approvals=pending.approvals,
            signers=pending.signers,
            requester=incident.requester,
        )
        if ask is not None:
            answer = ask(step, pending, answer)
        try:
            # Answer's fields go to approve() one by one, as mypy can check them (an asdict splat could not);
            # the pair duplicates reports with bench/replies.py's rows is a shape only.
            commands.approve(
                services=services,
                incident_ref=incident.id,
                step_id=step.id,
                person=answer.person,
                approve=answer.approve,
                comment=answer.comment,
                fields=answer.fields,
                channel="cli",
                wait=60,
            )
        except commands.CommandError as exc:
            if ask is not None:
                print(f"not sent: {exc}")
                continue
            raise DemoError(str(exc)) from None
        sent[step.id] = decided + 1


def _drive(
    *,
    services: Services,
    scenario: Scenario,
    interactive: bool,
    console: Any,
    started: float,
    api_url: str,
    server_started: bool,
    seeder: Any = None,
) -> bool:
    from rich.live import Live

    from runbook.audit import events as read_events
    from runbook.audit import verify

    live = None if interactive else Live(console=console, refresh_per_second=4, transient=False)
    ask = (
        (lambda step, pending, suggestion: _ask(console, step=step, pending=pending, suggestion=suggestion))
        if interactive
        else None
    )

    def tick(plan: Any, incident: Any, trail: list[Any]) -> None:
        if live is not None:
            live.update(_view(plan, incident, trail, started))

    if live is not None:
        live.start()
    try:
        incident = play(services=services, scenario=scenario, ask=ask, on_tick=tick, seeder=seeder)
    finally:
        if live is not None:
            live.stop()
    trail = read_events(services.db, incident.id)
    console.print()
    print_timeline(console, trail)
    report = verify(services.db, incident.id)
    verdict = "[green]passed[/]" if report.ok else f"[red]FAILED[/] {report}"
    console.print(f"audit verify: {verdict} ({len(trail)} events, hash chain and checkpoints)")
    console.print(f"incident {incident.slug}: [bold]{incident.status}[/] in {time.monotonic() - started:.0f}s")
    ui = api_url.removesuffix("/api")
    where = f"{ui}/runs/flow-run/{incident.flow_run_id}"
    if server_started:
        console.print(f"Prefect UI: run `runbook server`, then open {where.replace(ui, 'http://127.0.0.1:4200')}")
    else:
        console.print(f"Prefect UI: {where}")
    console.print(
        "next:\n"
        f"  runbook status {incident.slug}\n"
        f"  runbook audit show {incident.slug}\n"
        f"  runbook audit verify --incident {incident.slug}\n"
        f"  runbook postmortem {incident.slug}"
    )
    return report.ok and incident.status == "completed"


def _ask(console: Any, *, step: Any, pending: Any, suggestion: Answer) -> Answer:
    from rich.prompt import Confirm, Prompt

    console.print(f"\n[bold yellow]sign-off needed[/] {step.id}: {step.title}")
    if pending.prompt:
        console.print(pending.prompt)
    console.print(
        f"may sign: {', '.join(pending.signers)}"
        + (f"  (approvals {len(pending.approvals)}/{pending.quorum})" if pending.quorum > 1 else "")
    )
    person = Prompt.ask("sign as", default=suggestion.person)
    approve = Confirm.ask("approve?", default=True)
    fields: dict[str, Any] = {}
    if approve:
        for name, spec in step.gate.fields.items():
            default = suggestion.fields.get(name, spec.default)
            value = Prompt.ask(f"  {spec.title or name}", default="" if default is None else str(default))
            if value != "":
                fields[name] = value
    comment = Prompt.ask("comment", default=suggestion.comment or "")
    return Answer(person, fields, comment, approve)
