"""Wiring listening to the engine for entry points (CLI, the monitor flow, a Slack button): the
playbook starter behind alerts, and the chat ports for alerts and for incidents.

It lives in the engine so that runbook.listen stays below it: listen only knows the `Starter`
protocol (runbook/listen/alerts.py) that `engine_starter` satisfies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["alert_chat", "engine_starter", "incident_chat"]


def engine_starter(services: Any, *, create_run: bool = True, notes: list[str] | None = None) -> Callable[..., Any]:
    """A Starter over `runbook.engine.commands.start`: inputs the playbook does not declare are
    dropped; when the flow run cannot be created (no server or worker), the incident still stands
    (its freeze ran) and the problem is added to `notes`."""

    def start(*, playbook: str, inputs: dict[str, Any], requester: str, via: str, title: str) -> Any:
        from runbook.engine import commands

        try:
            known = services.playbook(playbook).inputs
        except FileNotFoundError as exc:
            raise commands.CommandError(str(exc)) from None
        accepted = {k: v for k, v in inputs.items() if k in known}
        started = commands.start(
            services=services,
            playbook_ref=playbook,
            inputs=accepted,
            requester=requester,
            via=via,
            title=title,
            create_run=False,
        )
        if create_run:
            try:
                commands.launch(services=services, incident=started.incident)
            except commands.CommandError as exc:
                if notes is not None:
                    notes.append(str(exc))
        return started.incident

    return start


def alert_chat(services: Any) -> Any:
    """The chat port alerts go through, recording in the listening ledger's trail."""
    from runbook.listen.ledger import ledger_incident

    return services.chat(ledger_incident(services.db))


def incident_chat(services: Any) -> Callable[[str], Any]:
    return lambda incident_id: services.chat(incident_id)


def monitor_tick(
    *, config_path: str | None = None, create_run: bool = True, via: str = "flow", now: Any = None
) -> dict[str, Any]:
    """One monitor check with everything wired from Settings: what the monitor flow runs."""
    from pathlib import Path

    from runbook.engine.services import build_services
    from runbook.listen.config import load_config
    from runbook.listen.monitor import run_once

    services = build_services(migrate=True)
    path = Path(config_path) if config_path else services.settings.listening_file()
    config = load_config(path, engine=services.db)
    notes: list[str] = []
    try:
        roster = services.roster()
    except FileNotFoundError:
        roster = None
    tick = run_once(
        services.db,
        config,
        now=now,
        chat=alert_chat(services),
        starter=engine_starter(services, create_run=create_run, notes=notes),
        roster=roster,
        chat_for=incident_chat(services),
        via=via,
    )
    tick.errors.extend(notes)
    return tick.to_dict()
