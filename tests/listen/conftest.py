"""Listening test fixtures: databases (shared with the queue tests), a brand's baseline weeks then
one of the doctrine's storms on the sandbox network, ingested; a recording chat; step contexts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runbook.db import dispose_engines, init_db, make_engine
from runbook.listen import ledger
from runbook.listen.ingest import ingest_channel
from runbook.listen.simulate import Traffic, load_traffic
from runbook.sandbox import SandboxChannel, load_storm
from runbook.sandbox.scenarios import SCENARIOS
from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401

HERE = Path(__file__).parent
REPO = HERE.parent.parent
STORM_SIZE = 2000


@pytest.fixture(autouse=True)
def _fresh_ledgers() -> Iterator[None]:
    yield
    ledger.forget()


@dataclass
class World:
    """A brand with `days` of everyday traffic before its storm, all ingested."""

    engine: Any
    scenario: str
    brand: str
    t0: datetime  # the offending post's time
    offending_ref: str

    @property
    def pairs(self) -> list[tuple[str | None, str]]:
        return [("x", self.brand)]


def build_world(db, scenario: str, *, days: int = 14, per_hour: float = 8.0, storm: int = STORM_SIZE) -> World:  # noqa: ANN001
    spec = SCENARIOS[scenario]
    t0 = datetime.fromisoformat(spec.historic_start)
    load_traffic(
        db, Traffic(account=spec.brand, per_hour=per_hour), start=t0 - timedelta(days=days), end=t0 + timedelta(days=1)
    )
    result = load_storm(db, scenario, mentions_count=storm)
    ingest_channel(db, SandboxChannel(db), source="sandbox", account=spec.brand, platform="x")
    return World(engine=db, scenario=scenario, brand=spec.brand, t0=t0, offending_ref=result.offending_ref)


@pytest.fixture(scope="session")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    """The three doctrine scenarios in one read-only SQLite database (tests must not change it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('listen-worlds') / 'worlds.db'}"
    made = make_engine(url)
    init_db(made)
    yield {name: build_world(made, name) for name in ("us-airways", "red-cross", "digiorno")}
    dispose_engines()


@dataclass
class RecordingChat:
    """A Chat port that remembers every message once per key; optionally opens war rooms."""

    messages: list[tuple[str | None, str, str]] = field(default_factory=list)
    rooms: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    def post(self, channel: str | None, text: str, *, key: str) -> str:
        if key not in self.keys:
            self.keys.add(key)
            self.messages.append((channel, text, key))
        return f"rec:{key}"

    def request_signoff(self, channel, request, *, key: str) -> str:  # noqa: ANN001
        return self.post(channel, request.text(), key=key)

    def texts(self) -> list[str]:
        return [text for _, text, _ in self.messages]


class RoomChat(RecordingChat):
    def open_war_room(self, *, people: list[str], key: str) -> str:
        self.rooms.append({"people": list(people), "key": key})
        return "C0WARROOM"


class ButtonChat(RecordingChat):
    def post_alert(self, channel: str | None, text: str, *, actions: list, key: str) -> str:
        if key not in self.keys:
            self.alerts.append({"channel": channel, "text": text, "actions": actions})
        return self.post(channel, text, key=key)


@pytest.fixture
def chat() -> RecordingChat:
    return RecordingChat()


@pytest.fixture
def roster():  # noqa: ANN201
    from runbook.spec import load_roster

    return load_roster(REPO / "roster.yaml")


def make_incident(db, title: str = "Offensive reply sent from @brand"):  # noqa: ANN001, ANN201
    from runbook import audit

    return audit.create_incident(
        db, playbook_id="social-media-mistake", playbook_version=1, inputs={}, requester="ana", title=title
    )


def step_context(
    db,
    incident,
    *,
    step_id: str,
    steps: dict | None = None,
    chat: Any = None,  # noqa: ANN001
    inputs: dict | None = None,
    roster: Any = None,
    now: datetime | None = None,
    channel: Any = None,
):  # noqa: ANN201
    from runbook import audit
    from runbook.steps.base import StepContext, StepServices

    services = StepServices(
        db=db,
        channel=channel if channel is not None else SandboxChannel(db),
        roster=(lambda: roster) if roster is not None else None,
        clock=(lambda: now) if now is not None else None,
    )
    return StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester="ana",
        step_id=step_id,
        inputs=inputs or {},
        steps=steps or {},
        audit=lambda action, details=None: audit.append(
            db,
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action=action,
            step=step_id,
            details=dict(details or {}),
        ),
        chat=chat,
        channel="incident-channel",
        services=services,
    )
