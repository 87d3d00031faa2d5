"""Reliability test fixtures: the CLI on a private home (SQLite file, the repository's roster and
playbooks), the same database for direct calls, and step contexts over a real incident."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runbook import audit
from runbook.db import dispose_engines
from runbook.sandbox import SandboxChannel
from runbook.steps.base import StepContext, StepServices

REPO = Path(__file__).parents[2]


@dataclass
class Cli:
    home: Path
    runner: CliRunner

    def __call__(self, *args: str) -> tuple[int, str]:
        from runbook.cli.main import app

        result = self.runner.invoke(app, list(args))
        return result.exit_code, result.output

    @property
    def services(self) -> Any:
        from runbook.engine.services import build_services

        return build_services(migrate=True)

    @property
    def db(self) -> Any:
        return self.services.db


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUNBOOK_ROSTER", str(REPO / "roster.yaml"))
    monkeypatch.setenv("RUNBOOK_PLAYBOOKS_DIR", str(REPO / "playbooks"))
    monkeypatch.setenv("RUNBOOK_TEMPLATES_DIR", str(REPO / "templates"))
    monkeypatch.chdir(tmp_path)
    yield Cli(home=tmp_path / "home", runner=CliRunner())
    dispose_engines()


def step_context(
    engine: Any,
    incident: Any,
    step_id: str,
    *,
    decision: dict | None = None,
    steps: dict | None = None,
    **services: Any,
) -> StepContext:
    """What the engine hands a kind: its audit goes to the incident's trail like the flow's."""

    def record(action: str, details: dict | None = None) -> None:
        audit.append(
            engine,
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action=action,
            step=step_id,
            details=dict(details or {}),
        )

    return StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester="ana",
        step_id=step_id,
        inputs={},
        steps=steps or {},
        audit=record,
        decision=decision,
        services=StepServices(db=engine, **{"channel": SandboxChannel(engine), **services}),
    )


def new_incident(engine: Any, title: str = "Offensive reply sent from @brand") -> Any:
    return audit.create_incident(
        engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={"summary": title},
        requester="ana",
        title=title,
    )
