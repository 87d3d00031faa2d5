"""`runbook serve` as a process: HTTP mode on an address, and Socket Mode against a local WebSocket
server standing in for Slack's (the app token opens it through apps.connections.open)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.slack.agent import SlackAgent
from tests.slack.conftest import HERE, REPO, SECRET


def serve_env(tmp_path, fake, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RUNBOOK_"))}
    env.update(
        {
            "RUNBOOK_HOME": str(tmp_path / "home"),
            "RUNBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "RUNBOOK_ROSTER": str(HERE / "roster.yaml"),
            "RUNBOOK_PLAYBOOKS_DIR": str(HERE / "playbooks"),
            "RUNBOOK_TEMPLATES_DIR": str(REPO / "templates"),
            "SLACK_BOT_TOKEN": fake.token,
            "RUNBOOK_SLACK_API_URL": fake.api_url,
            "PYTHONPATH": str(REPO),
            **extra,
        }
    )
    return env


def start(args: list[str], env: dict, marker: str) -> tuple[subprocess.Popen, str, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook.cli.main", "serve", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
            return proc, line, lines
    raise AssertionError("serve did not start:\n" + "".join(lines))


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=15)


def test_http_mode(tmp_path, fake):
    env = serve_env(tmp_path, fake, SLACK_SIGNING_SECRET=SECRET)
    proc, line, lines = start(["--http", "127.0.0.1:0"], env, "Slack events at")
    try:
        url = line.rsplit(" ", 1)[1].strip()
        assert url.endswith("/slack/events")
        agent = SlackAgent(url, SECRET, response_base=f"{fake.base}/response/")
        assert agent.command("help", user="U0ANA").status == 200
        assert agent.send(b"text=help", signed=False).status == 401
    finally:
        assert stop(proc) == 0
    output = "".join(lines)
    for secret in (fake.token, SECRET):
        assert secret not in output


def test_serve_refuses_to_start_without_what_its_mode_needs(tmp_path, fake):
    env = serve_env(tmp_path, fake)
    http = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "serve", "--http", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert http.returncode == 2 and "HTTP mode needs SLACK_SIGNING_SECRET" in http.stderr
    socket_mode = subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert socket_mode.returncode == 2 and "Socket Mode needs SLACK_APP_TOKEN" in socket_mode.stderr


def test_socket_mode_acks_over_the_websocket(tmp_path, fake):
    websockets = pytest.importorskip("websockets.sync.server")
    acks: list[dict] = []
    done = threading.Event()

    def slack_side(ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
        envelope = {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "token": "legacyverificationtoken123",
                "team_id": "T0BRAND",
                "channel_id": "C0GENERAL",
                "user_id": "U0ANA",
                "command": "/crisis",
                "text": "help",
                "api_app_id": "A0RUNBOOK",
                "response_url": f"{fake.base}/response/socket",
                "trigger_id": "trig.socket.1",
            },
        }
        sent = time.monotonic()
        ws.send(json.dumps(envelope))
        for message in ws:
            data = json.loads(message)
            if data.get("envelope_id") == "env-1":
                acks.append({**data, "seconds": time.monotonic() - sent})
                done.set()
                break
        try:
            while True:  # hold the connection open as Slack does
                ws.recv(timeout=30)
        except Exception:  # noqa: BLE001 - the client went away
            pass

    server = websockets.serve(slack_side, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/?ticket=secret-ticket-123"
    env = serve_env(tmp_path, fake, SLACK_APP_TOKEN=fake.app_token)
    proc, _, lines = start([], env, "Socket Mode, connected")
    try:
        assert done.wait(20), "".join(lines)
        (ack,) = acks
        assert "/crisis start PLAYBOOK" in ack["payload"]["text"]
        assert ack["seconds"] < 1.0
        assert [c.params for c in fake.of("apps.connections.open")] == [{}]
    finally:
        assert stop(proc) == 0
        server.shutdown()
    output = "".join(lines)
    for secret in (fake.token, fake.app_token, "secret-ticket-123"):
        assert secret not in output
