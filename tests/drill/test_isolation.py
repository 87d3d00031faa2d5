"""A drill never reaches a real network: with a real channel configured (here an adapter speaking
HTTP to a local server that records every request), a drill's steps write to the sandbox and the
server receives nothing, while an ordinary incident on the same configuration does reach it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runbook.engine.services import Services

REPO = Path(__file__).resolve().parents[2]


class Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls.append((self.path, json.loads(body or b"{}")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):  # quiet
        pass


class HttpChannel:
    """A 'real' network adapter: every write is an HTTP request to its API."""

    name = "real"

    def __init__(self, base: str):
        self.base = base

    def _post(self, path: str, payload: dict) -> dict:
        import httpx

        return httpx.post(self.base + path, json=payload, timeout=5).json()

    def delete(self, ref: str, *, key: str) -> bool:
        return self._post("/delete", {"ref": ref, "key": key})["ok"]

    def publish(self, **kwargs):
        return self._post("/publish", {k: str(v) for k, v in kwargs.items()})

    def reply(self, **kwargs):
        return self._post("/reply", {k: str(v) for k, v in kwargs.items()})


@pytest.fixture
def real_api():
    Recorder.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.calls
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(tmp_path, real_api):
    """Services whose step kinds are given the real channel, as a channel configuration would."""
    from runbook.db import init_db, make_engine
    from runbook.settings import Settings
    from runbook.steps.registry import load_kinds

    base, _calls = real_api
    channel = HttpChannel(base)

    class WithRealChannel(Services):
        def configured_channel(self):
            return channel

    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        roster=REPO / "roster.yaml",
        playbooks_dir=REPO / "playbooks",
        templates_dir=REPO / "templates",
    )
    db = make_engine(settings.resolved_database_url)
    init_db(db)
    yield WithRealChannel(settings=settings, db=db, kinds=load_kinds())
    from runbook.db import dispose_engines

    dispose_engines()


def delete_through_step(services, *, kind: str):
    from runbook.audit import create_incident
    from runbook.engine.commands import plan_for
    from runbook.engine.context import Run
    from runbook.engine.record import Recorder as AuditRecorder
    from runbook.listen.refs import post_url
    from runbook.sandbox import SandboxChannel, ensure_account
    from runbook.steps.delete_post import DeleteParams

    ensure_account(services.db, handle="USAirways", platform="x")
    post = SandboxChannel(services.db).publish(
        account="USAirways", platform="x", text="the offending post", key=f"offending-{kind}"
    )
    url = post_url("USAirways", post.ref)
    plan = plan_for(
        services=services,
        playbook_ref="social-media-mistake",
        inputs={"summary": "offensive reply", "offending_post": url},
        requester="ana",
    )
    incident = create_incident(
        services.db,
        playbook_id=plan.playbook_id,
        playbook_version=plan.playbook_version,
        inputs=plan.inputs,
        requester="ana",
        title=f"{kind} test",
        kind=kind,
    )
    run = Run(
        services=services,
        incident=incident,
        plan=plan,
        record=AuditRecorder(db=services.db, incident_id=incident.id),
        chat=None,
    )
    ctx = run.step_context(plan.step("delete"), decision=None)
    outputs = services.kinds["delete_post"].run(ctx, DeleteParams(post=url))
    return ctx, outputs, post


def test_a_drill_writes_to_the_sandbox_and_never_to_a_configured_real_channel(configured, real_api):
    from runbook.sandbox import SandboxChannel

    _base, calls = real_api
    ctx, outputs, post = delete_through_step(configured, kind="drill")
    assert ctx.services.channel.name == "sandbox"
    assert outputs.deleted
    assert calls == []  # the real network's API received nothing
    deleted = [p for p in SandboxChannel(configured.db).posts() if p["ref"] == post.ref]
    assert deleted[0]["deleted_at"] is not None


def test_an_ordinary_incident_on_the_same_configuration_does_reach_the_real_channel(configured, real_api):
    _base, calls = real_api
    ctx, outputs, post = delete_through_step(configured, kind="incident")
    assert ctx.services.channel.name == "real"
    assert [path for path, _ in calls] == ["/delete"] and calls[0][1]["ref"] == post.ref
