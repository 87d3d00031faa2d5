"""What the listening step kinds take from `StepContext.services`, with embedded defaults: the
database, the social channel (sandbox), the roster, the clock, and the optional artifacts hook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runbook.audit.models import as_utc

__all__ = ["artifacts_hook", "channel_of", "db_of", "now_of", "roster_of"]


def db_of(ctx: Any, kind: str) -> Any:
    engine = ctx.services.get("db")
    if engine is None:
        raise RuntimeError(f"{kind} needs the database: ctx.services['db'] is missing")
    return engine


def channel_of(ctx: Any, kind: str) -> Any:
    """services['channel'] (a Channel), else the sandbox network in our database."""
    channel = ctx.services.get("channel")
    if channel is not None:
        return channel
    from runbook.sandbox.network import SandboxChannel

    return SandboxChannel(db_of(ctx, kind))


def roster_of(ctx: Any) -> Any:
    """services['roster'] (a Roster or a callable returning one), else the settings' roster file."""
    roster = ctx.services.get("roster")
    if callable(roster):
        roster = roster()
    if roster is not None:
        return roster
    from runbook.spec import load_roster

    settings = ctx.services.get("settings")
    if settings is None:
        raise RuntimeError("no roster: ctx.services has neither 'roster' nor 'settings'")
    return load_roster(settings.resolved_roster)


def now_of(ctx: Any) -> datetime:
    """services['clock']() when given (tests, replays), else the current time."""
    clock = ctx.services.get("clock")
    return as_utc(clock() if callable(clock) else None)


def artifacts_hook(ctx: Any) -> Callable[..., Any] | None:
    """services['artifacts'](kind=..., key=..., data=..., description=...) when the engine offers it."""
    hook = ctx.services.get("artifacts")
    return hook if callable(hook) else None
