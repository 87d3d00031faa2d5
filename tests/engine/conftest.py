"""Engine test helpers: the settings, roster and worker process behind the session's `engine`
fixture (defined once, in tests/conftest.py), and `EngineEnv`, which drives and observes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runbook.engine.prefect_io import wait_for_deployments  # noqa: F401 - also used by test_production

# Before Prefect is imported anywhere in this session: a private home, no telemetry.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="runbook-engine-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# The harness server keeps its state in SQLite; under a loaded CI machine its default 10 s wait on a
# locked database was once not enough (a state transition failed, so did the run). Wait longer.
os.environ.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "30")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
# The key that seals the engine's own decisions (CLI, Slack): this process builds its Settings
# explicitly, so it would not find the worker's RUNBOOK_HOME/decision.key; share one key instead.
os.environ.setdefault("RUNBOOK_DECISION_KEY", os.urandom(16).hex())

HERE = Path(__file__).parent
REPO = HERE.parent.parent
# Test-only step kinds: the worker finds them through the `runbook.steps` entry point group (the
# plugin folder is on its PYTHONPATH); this process loads them by path, so that other test
# packages in the session never see them in the registry.
PLUGIN = HERE / "plugin"

CLOSED = ("completed", "failed", "cancelled")


@dataclass
class EngineEnv:
    services: object
    workdir: Path
    worker_log: Path
    env: dict

    # -- driving -----------------------------------------------------------------------------
    def start(self, playbook: str, inputs: dict | None = None, *, requester: str = "ron", title: str | None = None):
        from runbook.engine import commands

        started = commands.start(
            services=self.services,
            playbook_ref=playbook,
            inputs=inputs or {},
            requester=requester,
            title=title or playbook,
        )
        return started.incident

    def approve(self, incident, step: str, person: str, **kwargs):
        from runbook.engine import commands

        kwargs.setdefault("wait", 90)
        return commands.approve(services=self.services, incident_ref=incident.id, step_id=step, person=person, **kwargs)

    # -- observing ---------------------------------------------------------------------------
    def events(self, incident):
        from runbook.audit import events

        return events(self.services.db, incident.id)

    def trail(self, incident) -> list[tuple[str, str | None, str]]:
        """(action, step, actor) of every event but the chat messages and the identity
        attestations the CLI and the Slack app record before each decision."""
        return [
            (e.action, e.step, e.actor)
            for e in self.events(incident)
            if e.action not in ("chat.posted", "identity.attested")
        ]

    def wait_for(self, incident, action: str, *, step: str | None = None, count: int = 1, timeout: float = 90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hits = [e for e in self.events(incident) if e.action == action and (step is None or e.step == step)]
            if len(hits) >= count:
                return hits[-1]
            time.sleep(0.2)
        raise AssertionError(f"no {action} ({step}) within {timeout}s; trail: {self.trail(incident)}\n{self.tail()}")

    def wait_closed(self, incident, *, timeout: float = 120):
        from runbook.audit import get_incident

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            current = get_incident(self.services.db, incident.id)
            if current.status in CLOSED:
                return current
            time.sleep(0.25)
        raise AssertionError(
            f"{incident.slug} still {current.status} after {timeout}s; trail: {self.trail(incident)}\n{self.tail()}"
        )

    def flow_state(self, incident) -> str:
        from runbook.audit import get_incident
        from runbook.engine.prefect_io import view

        current = get_incident(self.services.db, incident.id)
        end = time.monotonic() + 30
        while True:  # the run reaches its final state a moment after the incident closes
            state = view(current.flow_run_id)
            if state.final or time.monotonic() > end:
                return state.state_name
            time.sleep(0.2)

    def tail(self, lines: int = 60) -> str:
        text = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        kept = [line for line in text.splitlines() if "httpx" not in line]
        return "--- worker log ---\n" + "\n".join(kept[-lines:])


def engine_kinds() -> dict:
    import importlib.util

    from runbook.steps.base import StepKind
    from runbook.steps.registry import load_kinds

    spec = importlib.util.spec_from_file_location("engine_test_kinds", PLUGIN / "engine_test_kinds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kinds = dict(load_kinds())
    kinds.update({k.name: k for k in vars(module).values() if isinstance(k, StepKind)})
    return kinds


def settings_env(workdir: Path) -> dict[str, str]:
    """RUNBOOK_* for a session: its own database and home, the test roster, and every playbook
    (the shipped ones and the tests' own) in one folder."""
    playbooks = workdir / "playbooks"
    playbooks.mkdir(parents=True, exist_ok=True)
    for source in [*(REPO / "playbooks").glob("*.yaml"), *(HERE / "playbooks").glob("*.yaml")]:
        shutil.copy(source, playbooks / source.name)
    roster = merged_roster(workdir / "roster.yaml")
    return {
        "RUNBOOK_HOME": str(workdir / "home"),
        "RUNBOOK_DATABASE_URL": f"sqlite:///{workdir / 'home' / 'runbook.db'}",
        "RUNBOOK_ROSTER": str(roster),
        "RUNBOOK_PLAYBOOKS_DIR": str(playbooks),
        "RUNBOOK_TEMPLATES_DIR": str(REPO / "templates"),
    }


def merged_roster(target: Path) -> Path:
    """The shipped roster (the doctrine scenarios sign as its people) plus the tests' own people."""
    import yaml

    shipped = yaml.safe_load((REPO / "roster.yaml").read_text())
    ours = yaml.safe_load((HERE / "roster.yaml").read_text())
    clash = {p["id"] for p in shipped["people"]} & {p["id"] for p in ours["people"]}
    assert not clash, f"test people {clash} also in roster.yaml: rename them in tests/engine/roster.yaml"
    shipped["people"] = shipped["people"] + ours["people"]
    target.write_text(yaml.safe_dump(shipped, sort_keys=False))
    return target


def start_worker(*, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")
    # Its own session, so teardown can stop the worker and the flow processes it spawned.
    return subprocess.Popen(
        [sys.executable, "-m", "flows.worker"],
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    else:  # the worker is gone; its flow processes may not be
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
