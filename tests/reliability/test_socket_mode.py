"""Socket Mode against a local WebSocket fake of Slack: the connection drops (Slack's
`disconnect` message, then a hard close), `runbook serve` opens a new one through
apps.connections.open and the command sent over the new connection is acknowledged."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.slack.conftest import fake  # noqa: F401 - fixture
from tests.slack.test_slack_serve import serve_env, start, stop


def _envelope(fake, n: int) -> dict:  # noqa: ANN001
    return {
        "envelope_id": f"env-{n}",
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
            "response_url": f"{fake.base}/response/socket-{n}",
            "trigger_id": f"trig.socket.{n}",
        },
    }


def test_socket_mode_reconnects_after_a_disconnect(tmp_path, fake) -> None:  # noqa: ANN001, F811
    websockets = pytest.importorskip("websockets.sync.server")
    connections: list[int] = []
    acks: list[str] = []
    done = threading.Event()

    def slack_side(ws) -> None:  # noqa: ANN001
        connections.append(len(connections) + 1)
        n = len(connections)
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": f"fake-{n}"}}))
        if n == 1:
            # Slack asks the app to reconnect, then drops the socket without a close handshake.
            ws.send(json.dumps({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake-1"}}))
            time.sleep(0.2)
            ws.socket.close()
            return
        ws.send(json.dumps(_envelope(fake, n)))
        try:
            for message in ws:
                data = json.loads(message)
                if data.get("envelope_id") == f"env-{n}":
                    acks.append(data["envelope_id"])
                    done.set()
            while True:
                ws.recv(timeout=30)
        except Exception:  # noqa: BLE001 - the client went away
            pass

    server = websockets.serve(slack_side, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/?ticket=secret-ticket-456"
    env = serve_env(tmp_path, fake, SLACK_APP_TOKEN=fake.app_token)
    proc, _, lines = start([], env, "Socket Mode, connected")
    try:
        assert done.wait(60), "".join(lines)
        assert acks == ["env-2"] and len(connections) >= 2
        assert len(fake.of("apps.connections.open")) >= 2  # a fresh URL for the new connection
    finally:
        assert stop(proc) == 0
        server.shutdown()
    output = "".join(lines)
    for secret in (fake.token, fake.app_token, "secret-ticket-456"):
        assert secret not in output
