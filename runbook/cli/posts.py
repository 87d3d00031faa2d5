"""Post queue commands: `posts` (schedule, import, list, cancel, approve), `freeze`, `freezes`, `thaw`,
`check-post`, `scheduler` and `sandbox` (storm, account, feed, mentions).

Heavy imports stay inside the commands, so `runbook check` does not pay for them.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from runbook.cli import queue_support as qs
from runbook.cli.common import mount

posts_app = typer.Typer(help="The brand's scheduled posts.", no_args_is_help=True)
# `runbook freeze --as P` freezes; `runbook freeze keep FREEZE --as P --reason R` keeps one on purpose.
freeze_app = typer.Typer(help="Freeze the queue now, or keep a freeze on purpose.", invoke_without_command=True)
sandbox_app = typer.Typer(help="The embedded sandbox social network.", no_args_is_help=True)

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Brand policy file (default ./brand.yaml if present)")]
AsOpt = Annotated[str, typer.Option("--as", help="Who does this (a roster id)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


def register(app: typer.Typer) -> None:
    mount(
        app,
        groups={"posts": posts_app, "sandbox": sandbox_app, "freeze": freeze_app},
        commands={"freezes": freezes, "thaw": thaw, "check-post": check_post, "scheduler": scheduler},
    )


# -- posts ------------------------------------------------------------------------------------
@posts_app.callback()
def _posts_warnings() -> None:
    """Every `runbook posts` command first says which freezes outlived their incident."""
    from runbook.queue.orphans import orphaned_freezes

    try:
        found = orphaned_freezes(qs.database())
    except Exception:  # noqa: BLE001 - a warning must never stop the command itself
        return
    for freeze in found:
        typer.echo(f"warning: {freeze.warning()}", err=True)


@posts_app.command("schedule")
def schedule(
    account: Annotated[str, typer.Option(help="Account handle")],
    platform: Annotated[str, typer.Option(help="x, instagram, linkedin, facebook, mastodon or bluesky")],
    at: Annotated[str, typer.Option("--at", help="ISO time (no offset = UTC), 'now' or '+10m'")],
    text: Annotated[str, typer.Option(help="The post's text")],
    media: Annotated[list[Path] | None, typer.Option("--media", help="Image or video file (repeat)")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="en or nl (default: the policy's)")] = None,
    person: Annotated[str | None, typer.Option("--as", help="Author (default: your user name)")] = None,
    policy: PolicyOpt = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a post and schedule it (held as needs_review when a check blocks it)."""
    from runbook.queue import NewPost, QueueError, schedule_post
    from runbook.queue.times import parse_time

    when = qs.parse_or_exit(parse_time, at, "--at")
    engine = qs.database()
    author = person or getpass.getuser()
    with qs.checker(policy, no_links) as checker, qs.jobbook(engine) as jobs:
        try:
            post = schedule_post(
                engine,
                NewPost(
                    account=account.lstrip("@"),
                    platform=platform.lower(),
                    text=text,
                    run_at=when,
                    author=author,
                    media=tuple(str(m) for m in media or ()),
                    language=lang,
                ),
                checker=checker,
                jobs=jobs,
                actor=author,
                channel="cli",
            )
        except QueueError as exc:
            qs.fail(str(exc))
    if as_json:
        typer.echo(json.dumps(post.to_dict(), indent=2))
        return
    typer.echo(f"{post.id} {post.status} at {post.run_at.isoformat()} ({post.account} on {post.platform})")
    qs.print_findings(post.findings)


@posts_app.command("import")
def import_calendar(
    file: Annotated[Path, typer.Argument(help="Content calendar (.csv with a header row, or .jsonl)")],
    person: Annotated[
        str | None, typer.Option("--as", help="Author of rows without one (default: your user name)")
    ] = None,
    policy: PolicyOpt = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
    encoding: Annotated[
        str | None, typer.Option(help="The file's encoding (default UTF-8); undecodable bytes are refused")
    ] = None,
) -> None:
    """Schedule every good row of a calendar; report each bad row by line (exit 1 if any)."""
    from runbook.queue import QueueError, schedule_posts
    from runbook.queue.calendar import read_calendar

    author = person or getpass.getuser()
    calendar = read_calendar(file, default_author=author, encoding=encoding)
    for error in calendar.errors:
        typer.echo(f"error: {error}", err=True)
    scheduled = []
    if calendar.posts:
        engine = qs.database()
        with qs.checker(policy, no_links) as checker, qs.jobbook(engine) as jobs:
            try:
                scheduled = schedule_posts(
                    engine,
                    calendar.posts,
                    checker=checker,
                    jobs=jobs,
                    actor=author,
                    channel="cli",
                    media_base=file.parent,
                )
            except QueueError as exc:
                qs.fail(str(exc))
    counts: dict[str, int] = {}
    for post in scheduled:
        counts[post.status] = counts.get(post.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing scheduled"
    typer.echo(f"{file}: {len(scheduled)} post(s) imported ({summary}); {len(calendar.errors)} bad row(s)")
    for post in scheduled:
        if post.status == "needs_review":
            typer.echo(f"  held for review: {post.label()} ({post.source})")
            qs.print_findings(post.findings, indent="    ")
    raise typer.Exit(1 if calendar.errors else 0)


@posts_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="Only posts with this status")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Posts by time, with their status."""
    from runbook.queue import STATUSES, list_posts

    if status is not None and status not in STATUSES:
        qs.fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}", code=2)
    found = list_posts(qs.database(), status=status, account=account, limit=limit)
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in found], indent=2))
        return
    for post in found:
        marks = " ".join(
            f"[block:{rule}]" for rule in dict.fromkeys(f["rule"] for f in post.findings if f["severity"] == "block")
        )
        typer.echo(
            f"{post.id}  {post.run_at:%Y-%m-%d %H:%M:%S}Z  {post.status:<12} {post.account}/{post.platform}  "
            f"{post.text[:60].replace(chr(10), ' ')}{'  ' + marks if marks else ''}"
        )
    typer.echo(f"{len(found)} post(s)")


@posts_app.command("cancel")
def cancel(
    post_id: Annotated[str, typer.Argument(help="The post's id")],
    person: Annotated[str | None, typer.Option("--as", help="Who cancels (default: your user name)")] = None,
    reason: Annotated[str, typer.Option(help="Why")] = "",
) -> None:
    """Kill a post that has not gone out; it will never publish."""
    from runbook.queue import QueueError, cancel_post

    try:
        post = cancel_post(qs.database(), post_id, actor=person or getpass.getuser(), channel="cli", reason=reason)
    except QueueError as exc:
        qs.fail(str(exc))
    typer.echo(f"{post.id} killed")


@posts_app.command("approve")
def approve(
    post_id: Annotated[str, typer.Argument(help="A needs_review post's id")],
    person: AsOpt,
    at: Annotated[str | None, typer.Option("--at", help="New time (default: its time, or now if passed)")] = None,
    comment: Annotated[str, typer.Option(help="Why it may go out")] = "",
) -> None:
    """Second-person sign-off on a held post (not its author): it is scheduled again."""
    from runbook.queue import QueueError, approve_post
    from runbook.queue.times import parse_time

    qs.require_person(person)
    when = qs.parse_or_exit(parse_time, at, "--at") if at else None
    engine = qs.database()
    with qs.jobbook(engine) as jobs:
        try:
            post = approve_post(engine, post_id, reviewer=person, channel="cli", jobs=jobs, at=when, comment=comment)
        except QueueError as exc:
            qs.fail(str(exc))
    typer.echo(f"{post.id} {post.status} at {post.run_at.isoformat()} (reviewed by {person})")


# -- freeze and thaw --------------------------------------------------------------------------
@freeze_app.callback()
def freeze(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option("--as", help="Who does this (a roster id)")] = None,
    accounts: Annotated[str, typer.Option(help="Comma-separated accounts, or all")] = "all",
    reason: Annotated[str, typer.Option(help="Why")] = "",
    incident: Annotated[str | None, typer.Option(help="Incident id or slug the freeze belongs to")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Freeze every scheduled post in scope now: one transaction, nothing in scope publishes after it."""
    if ctx.invoked_subcommand is not None:
        return
    from runbook.audit import get_incident
    from runbook.queue import QueueError
    from runbook.queue.remote import freeze_everything
    from runbook.queue.remote_config import configured_queues

    if person is None:
        qs.fail("Missing option '--as' (who freezes the queue)", code=2)
    qs.require_person(person)
    engine = qs.database()
    incident_id = None
    if incident is not None:
        found = get_incident(engine, incident)
        if found is None:
            qs.fail(f"no incident {incident!r}")
        incident_id = found.id
    queues, problem = configured_queues()  # the remote queues of channels.yaml, if any
    try:
        # The command's options passed on by name: who, from where and why the freeze was asked for.
        result, remote = freeze_everything(
            engine,
            remote=queues,
            incident_id=incident_id,
            actor=person,
            channel="cli",
            accounts=accounts,
            reason=reason,
        )
    except QueueError as exc:
        qs.fail(str(exc))
    if problem:
        typer.echo(f"error: {problem}", err=True)
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "remote": remote.to_dict() if remote else None}, indent=2))
        return
    typer.echo(result.summary())
    if remote is not None:
        typer.echo(remote.summary())
    typer.echo(f"thaw with: runbook thaw {result.id} --as PERSON")


@freeze_app.command("keep")
def freeze_keep(
    freeze_id: Annotated[str, typer.Argument(help="The active freeze to keep")],
    person: AsOpt,
    reason: Annotated[str, typer.Option(help="Why it stays on (recorded in the audit trail)")],
) -> None:
    """Keep an active freeze on purpose after its incident ended: it is no longer flagged (audited)."""
    from runbook.queue import QueueError
    from runbook.queue.orphans import keep_freeze

    qs.require_person(person)
    try:
        kept = keep_freeze(qs.database(), freeze_id, actor=person, channel="cli", reason=reason)
    except QueueError as exc:
        qs.fail(str(exc))
    typer.echo(f"freeze {kept.id} kept by {person} ({kept.holding} post(s) held): {reason}")


def freezes(
    status: Annotated[str | None, typer.Option(help="active or thawed")] = None, as_json: JsonOpt = False
) -> None:
    """Freezes, oldest first."""
    from runbook.queue import list_freezes

    rows = list_freezes(qs.database(), status=status)
    if as_json:
        typer.echo(
            json.dumps(
                [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows], indent=2
            )
        )
        return
    for r in rows:
        typer.echo(
            f"{r['id']}  {r['created_at']:%Y-%m-%d %H:%M:%S}Z  {r['status']:<7} {r['post_count']:>6} post(s)  "
            f"scope {','.join(r['scope'])}  by {r['actor']}  {r['reason']}"
        )
    typer.echo(f"{len(rows)} freeze(s)")


def thaw(
    freeze_id: Annotated[str, typer.Argument(help="The freeze to thaw")],
    person: AsOpt,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the latest proposal, approved by --as")] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="POST_ID=release|reschedule|kill[@TIME] (repeat)")
    ] = None,
    actions_file: Annotated[Path | None, typer.Option("--actions-file", help="File of POST_ID=action lines")] = None,
    policy: PolicyOpt = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Without --apply: propose release/reschedule/kill for every frozen post (re-checked), change
    nothing. With --apply: apply the latest proposal with your changes; you are the approver."""
    from runbook.queue import QueueError, apply_thaw, latest_thaw, parse_actions, propose_thaw

    qs.require_person(person)
    engine = qs.database()
    try:
        if not apply:
            if set_ or actions_file:
                qs.fail("--set and --actions-file go with --apply", code=2)
            with qs.checker(policy, no_links) as checker:
                plan = propose_thaw(engine, freeze_id, actor=person, channel="cli", checker=checker)
        else:
            lines = list(set_ or [])
            if actions_file is not None:
                try:
                    lines += actions_file.read_text(encoding="utf-8").splitlines()
                except OSError as exc:
                    qs.fail(f"{actions_file}: {exc}")
            try:
                overrides = parse_actions("\n".join(lines))
            except QueueError as exc:
                qs.fail(f"{actions_file or '--set'}: {exc}", code=2)
            proposed = latest_thaw(engine, freeze_id)
            if proposed is None:
                qs.fail(f"freeze {freeze_id} has no thaw proposal: run `runbook thaw {freeze_id} --as {person}` first")
            from runbook.queue.remote_config import configured_queues

            queues, problem = configured_queues()
            if problem:
                typer.echo(f"error: {problem}", err=True)
            with qs.jobbook(engine) as jobs:
                plan = apply_thaw(
                    engine, proposed.id, approver=person, channel="cli", jobs=jobs, overrides=overrides, remote=queues
                )
    except QueueError as exc:
        qs.fail(str(exc))
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
        return
    qs.print_plan(plan)
    if plan.status == "proposed":
        typer.echo(f"apply with: runbook thaw {freeze_id} --as APPROVER --apply [--set POST_ID=kill ...]")


# -- checks and the scheduler -----------------------------------------------------------------
def check_post(
    text: Annotated[str, typer.Argument(help="The post's text")],
    account: Annotated[str, typer.Option(help="Account handle")],
    platform: Annotated[str, typer.Option(help="x, instagram, linkedin, facebook, mastodon or bluesky")],
    media: Annotated[list[Path] | None, typer.Option("--media", help="Image or video file (repeat)")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="en or nl (default: the policy's)")] = None,
    person: Annotated[str | None, typer.Option("--as", help="Author, for the account check")] = None,
    context: Annotated[str, typer.Option(help="publish, or thaw (adds the crisis-tone rules)")] = "publish",
    policy: PolicyOpt = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the pre-publish checks on a text; exit 1 when a check blocks it."""
    from runbook.checks import Draft, PackError, media_refs
    from runbook.checks.platforms import platform_names

    if platform.lower() not in platform_names():
        qs.fail(f"--platform must be one of {', '.join(platform_names())}, got {platform!r}", code=2)
    if context not in ("publish", "thaw"):
        qs.fail(f"--context must be publish or thaw, got {context!r}", code=2)
    if lang is not None and lang not in ("en", "nl"):
        qs.fail(f"--lang must be en or nl, got {lang!r}", code=2)
    with qs.checker(policy, no_links) as checker:
        draft = Draft(
            account=account.lstrip("@"),
            platform=platform.lower(),
            text=text,
            media=media_refs([str(m) for m in media or []]),
            author=person,
            language=lang or checker.policy.default_language,
        )
        try:
            result = checker.check(draft, context=context)
        except PackError as exc:
            qs.fail(str(exc))
    if as_json:
        typer.echo(
            json.dumps({"blocked": result.blocked, "findings": result.to_list(), "notes": result.notes}, indent=2)
        )
    else:
        qs.print_findings(result.to_list(), indent="")
        for note in result.notes:
            typer.echo(f"note: {note}")
        typer.echo(
            "BLOCKED: needs a second person's sign-off" if result.blocked else f"OK ({len(result.warnings)} warning(s))"
        )
    raise typer.Exit(1 if result.blocked else 0)


def scheduler(
    poll: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds between looks at the job table")] = 1.0,
    grace: Annotated[int, typer.Option(min=1, help="Seconds a late post may still go out; later ones are held")] = 300,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Posts published in parallel")] = 8,
    policy: PolicyOpt = None,
    no_links: Annotated[bool, typer.Option("--no-links", help="Skip link checks (offline)")] = False,
) -> None:
    """Run the post queue until stopped (Ctrl-C or SIGTERM)."""
    import logging
    import signal
    import threading

    from runbook.channels.registry import channel_for
    from runbook.queue.service import QueueScheduler
    from runbook.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = qs.database()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with qs.checker(policy, no_links) as checker:
        service = QueueScheduler(
            engine,
            channel=channel_for(engine, path=Settings().channels.file),
            checker=checker,
            poll_seconds=poll,
            grace_seconds=grace,
            workers=workers,
            audit_channel="cli",
        )
        typer.echo(f"scheduler running on {engine.url.render_as_string(hide_password=True)} (Ctrl-C to stop)")
        service.run_forever(stop)
    typer.echo("scheduler stopped")


# -- sandbox ----------------------------------------------------------------------------------
@sandbox_app.command("storm")
def storm(
    scenario: Annotated[str, typer.Option(help="us-airways, red-cross or digiorno")],
    mentions: Annotated[int, typer.Option(min=0, max=1_000_000, help="How many mentions")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same storm")] = 1,
    start: Annotated[str, typer.Option(help="Time of the offending post: ISO, 'now' or 'historic'")] = "now",
) -> None:
    """Write a deterministic mention storm after the scenario's offending post into the sandbox."""
    from runbook.queue.times import parse_time
    from runbook.sandbox import SCENARIOS, load_storm

    if scenario not in SCENARIOS:
        qs.fail(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}", code=2)
    when = None if start == "historic" else qs.parse_or_exit(parse_time, start, "--start")
    result = load_storm(qs.database(), scenario, mentions_count=mentions, seed=seed, start=when)
    typer.echo(
        f"{scenario}: offending post {result.offending_ref} on @{result.account} ({result.platform}); "
        f"{result.inserted} new mention(s) of {result.generated}"
        + (
            f" from {result.first_at:%Y-%m-%d %H:%M:%S} to {result.last_at:%Y-%m-%d %H:%M:%S} UTC"
            if result.first_at
            else ""
        )
    )


@sandbox_app.command("account")
def sandbox_account(
    handle: Annotated[str, typer.Argument(help="Handle, without @")],
    platform: Annotated[str, typer.Option(help="Platform")],
    kind: Annotated[str, typer.Option(help="brand or personal")] = "brand",
    followers: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Create a sandbox account (idempotent)."""
    from runbook.sandbox import ensure_account

    if kind not in ("brand", "personal"):
        qs.fail(f"--kind must be brand or personal, got {kind!r}", code=2)
    ensure_account(qs.database(), handle=handle.lstrip("@"), platform=platform.lower(), kind=kind, followers=followers)
    typer.echo(f"@{handle.lstrip('@')} on {platform.lower()} ({kind})")


@sandbox_app.command("feed")
def feed(
    account: Annotated[str | None, typer.Option(help="Only this account")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the brand published on the sandbox network (posts and replies, deletions marked)."""
    from runbook.sandbox import SandboxChannel

    rows = SandboxChannel(qs.database()).posts(account=account)
    if as_json:
        typer.echo(json.dumps([qs.jsonable(r) for r in rows], indent=2))
        return
    for r in rows:
        gone = "  [deleted]" if r["deleted_at"] else ""
        typer.echo(
            f"{r['ref']}  {r['created_at']:%Y-%m-%d %H:%M:%S}Z  @{r['account']}/{r['platform']}  {r['text'][:70]}{gone}"
        )
    typer.echo(f"{len(rows)} post(s)")


@sandbox_app.command("mentions")
def sandbox_mentions(
    account: Annotated[str, typer.Argument(help="The mentioned account")],
    since: Annotated[str | None, typer.Option(help="Cursor from an earlier page")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Mentions of an account, oldest first, a page at a time."""
    from runbook.sandbox import SandboxChannel

    try:
        page = SandboxChannel(qs.database()).mentions(account.lstrip("@"), since=since, limit=limit)
    except ValueError as exc:
        qs.fail(str(exc), code=2)
    if as_json:
        typer.echo(
            json.dumps({"items": [qs.jsonable(m.__dict__) for m in page.items], "cursor": page.cursor}, indent=2)
        )
        return
    for m in page.items:
        typer.echo(f"{m.ref}  {m.created_at:%Y-%m-%d %H:%M:%S}Z  @{m.author} ({m.author_followers})  {m.text[:80]}")
    typer.echo(f"next: --since {page.cursor}" if page.items else "no more mentions")
