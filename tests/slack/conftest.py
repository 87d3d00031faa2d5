"""Slack test fixtures: the fake Web API, the real Bolt app served over loopback in HTTP mode, and
a signed-request agent. `offline` runs without Prefect (flow runs are not created); `online` shares
the engine tests' one Prefect harness and worker (imported fixtures, not copies).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from runbook.audit import events, get_incident, list_incidents, update_incident
from runbook.engine import commands
from runbook.settings import Settings
from tests.slack.agent import SlackAgent
from tests.slack.fake_slack import FakeSlack

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SECRET = "8f14e45fceea167a5a36dedd4bea2543"


class OfflineVerbs:
    """The engine's verbs, except that creating the Prefect flow run is skipped (offline tests)."""

    CommandError = commands.CommandError
    start = staticmethod(commands.start)
    plan_for = staticmethod(commands.plan_for)
    status = staticmethod(commands.status)
    approve = staticmethod(commands.approve)
    cancel = staticmethod(commands.cancel)  # no flow run offline: nothing to cancel in Prefect

    @staticmethod
    def launch(*, services, incident):
        update_incident(services.db, incident.id, status="running")
        return "offline"


@dataclass
class Harness:
    app: Any
    server: Any
    fake: FakeSlack
    services: Any
    agent: SlackAgent

    def events(self, incident_id: str):
        return events(self.services.db, incident_id)

    def incidents(self, playbook: str | None = None):
        return [i for i in list_incidents(self.services.db) if playbook is None or i.playbook_id == playbook]

    def incident(self, ref: str):
        return get_incident(self.services.db, ref)

    def wait_event(
        self, incident_id: str, action: str, *, step: str | None = None, count: int = 1, timeout: float = 60.0
    ):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hits = [e for e in self.events(incident_id) if e.action == action and (step is None or e.step == step)]
            if len(hits) >= count:
                return hits[-1]
            time.sleep(0.1)
        raise AssertionError(f"no {action} ({step}) within {timeout}s: {[e.action for e in self.events(incident_id)]}")


def slack_settings(base: Settings, fake: FakeSlack, **extra) -> Settings:
    return base.replace(
        slack_bot_token=SecretStr(fake.token),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
        **extra,
    )


def serve(settings: Settings, services, fake: FakeSlack, **options) -> Harness:
    from runbook.slack import create_app, make_server

    app = create_app(settings=settings, services=services, **options)
    server = make_server(app.bolt, signing_secret=SECRET, host="127.0.0.1", port=0, quiet=app.quiet)
    server.start_background()
    return Harness(
        app=app,
        server=server,
        fake=fake,
        services=services,
        agent=SlackAgent(server.url, SECRET, response_base=f"{fake.base}/response/"),
    )


def stop(h: Harness) -> None:
    h.server.shutdown()
    h.server.server_close()
    h.app.close()


@pytest.fixture
def fake():
    f = FakeSlack().start()
    yield f
    f.stop()


@pytest.fixture
def offline_services(tmp_path):
    from runbook.engine.services import build_services

    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'runbook.db'}",
        roster=HERE / "roster.yaml",
        playbooks_dir=HERE / "playbooks",
        templates_dir=REPO / "templates",
    )
    return build_services(settings, migrate=True)


@pytest.fixture
def offline(offline_services, fake):
    """The app on loopback over a temporary database; no Prefect (flow runs are not created)."""
    settings = slack_settings(offline_services.settings, fake)
    offline_services.settings = settings
    h = serve(settings, offline_services, fake, verbs=OfflineVerbs, relay_interval=0.1, interval=0.05)
    yield h
    stop(h)


@pytest.fixture
def online(engine, fake):  # noqa: F811 - the imported session fixture
    """The app against the session's real engine: Prefect harness, worker, shared database."""
    from runbook.engine.services import Services

    for source in (HERE / "playbooks").glob("*.yaml"):
        shutil.copy(source, engine.workdir / "playbooks" / source.name)
    settings = slack_settings(engine.services.settings, fake, roster=HERE / "roster.yaml")
    services = Services(settings=settings, db=engine.services.db, kinds=engine.services.kinds)
    h = serve(settings, services, fake, relay_interval=0.2)
    yield h
    stop(h)
