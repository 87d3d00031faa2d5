"""Shared plumbing of the post queue commands: the database, the checker, the job book, the
roster check of `--as`, and printing findings and thaw plans."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from runbook.cli.common import database, fail  # noqa: F401  (re-exported for the queue commands)

T = TypeVar("T")
DEFAULT_POLICY = Path("brand.yaml")


def parse_or_exit(parse: Callable[[str], T], value: str, option: str) -> T:
    try:
        return parse(value)
    except ValueError as exc:
        fail(f"{option}: {exc}", code=2)


def require_person(person: str) -> None:
    """`--as` must name someone on the roster (when there is a roster file)."""
    from runbook.settings import Settings
    from runbook.spec import SpecError, load_roster

    path = Settings().paths.resolved_roster
    if not path.exists():
        return
    try:
        roster = load_roster(path)
    except SpecError as exc:
        fail(f"roster {path} is invalid: {exc}")
    if roster.person(person) is None:
        fail(f"--as {person}: not on the roster {path}", code=2)


@contextmanager
def checker(policy: Path | None, no_links: bool) -> Iterator[Any]:
    from runbook.checks import Checker, PolicyError, load_policy

    path = policy if policy is not None else (DEFAULT_POLICY if DEFAULT_POLICY.exists() else None)
    if policy is not None and not policy.exists():
        fail(f"--policy {policy}: no such file", code=2)
    try:
        loaded = load_policy(path)
        made = Checker(loaded, links=False if no_links else None)
    except (PolicyError, ValueError) as exc:
        fail(str(exc))
    try:
        yield made
    finally:
        made.close()


@contextmanager
def jobbook(engine: Any) -> Iterator[Any]:
    from runbook.queue.jobs import JobBook

    book = JobBook(engine)
    try:
        yield book
    finally:
        book.close()


def print_findings(findings: list[dict[str, Any]], *, indent: str = "  ") -> None:
    for f in findings:
        typer.echo(f"{indent}{f['severity'].upper():5} {f['rule']}: {f['message']}")


def print_plan(plan: Any) -> None:
    applied = plan.status == "applied"
    head = f"thaw {plan.id} of freeze {plan.freeze_id}: {plan.status}"
    if applied:
        head += f" by {plan.approved_by} at {plan.applied_at:%Y-%m-%d %H:%M:%S}Z"
    typer.echo(head)
    for item in plan.items:
        when = item.new_run_at if applied else item.proposed_run_at
        action = f"{item.action} -> {item.outcome}" if applied else item.proposed
        typer.echo(
            f"  {item.post.id}={action}{' @' + when.isoformat() if when else ''}  "
            f"{item.post.label}\n      {item.reason}"
        )
        print_findings([f for f in item.findings if f["severity"] == "block"], indent="      ")
    counts = plan.counts("outcome" if applied else "proposed")
    typer.echo("  " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) if counts else "  no frozen posts")
    if plan.remaining:
        typer.echo(f"  still frozen (joined the freeze after this proposal): {', '.join(plan.remaining)}")


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
