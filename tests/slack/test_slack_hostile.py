"""The HTTP endpoint under slow and hostile clients: 70 connections trickling their headers do not
delay a valid signed request past Slack's 3 s; a header block that never completes is cut off;
other methods and malformed signed payloads get a 4xx, never a 500."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlencode

import pytest

from runbook.slack import http as slack_http

SLOW_CLIENTS = 70


def _trickle(host: str, port: int, stop: threading.Event, closed: list[float], opened: float) -> None:
    sock = socket.create_connection((host, port), timeout=30)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            try:
                sock.sendall(b"X-A: b\r\n")  # one header line a second, never the blank line
            except OSError:
                closed.append(time.monotonic() - opened)
                return
            sock.settimeout(1.0)
            try:
                if sock.recv(1) == b"":
                    closed.append(time.monotonic() - opened)
                    return
            except TimeoutError:
                pass
            except OSError:  # reset by the server
                closed.append(time.monotonic() - opened)
                return
    finally:
        sock.close()


def test_seventy_slow_clients_do_not_delay_a_signed_request(offline, monkeypatch):
    monkeypatch.setattr(slack_http, "HEADER_TIMEOUT", 4.0)
    agent = offline.agent
    stop = threading.Event()
    closed: list[float] = []
    opened = time.monotonic()
    threads = [
        threading.Thread(target=_trickle, args=(agent.host, agent.port, stop, closed, opened), daemon=True)
        for _ in range(SLOW_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # every slow client is connected and trickling
        answers = [agent.command("help", user="U0ANA") for _ in range(5)]
        assert [a.status for a in answers] == [200] * 5
        worst = max(a.seconds for a in answers)
        assert worst < 3.0, f"the ack took {worst:.2f} s with {SLOW_CLIENTS} slow clients"
        # The header deadline cuts the slow clients off (here 4 s; 10 s in production).
        end = time.monotonic() + 15
        while len(closed) < SLOW_CLIENTS and time.monotonic() < end:
            time.sleep(0.2)
        assert len(closed) == SLOW_CLIENTS
        assert min(closed) >= 3.5
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "GET"])
def test_other_methods_get_405(offline, method):
    import http.client

    conn = http.client.HTTPConnection(offline.agent.host, offline.agent.port, timeout=10)
    conn.request(method, "/slack/events", body=b"x" if method in ("PUT", "PATCH") else None)
    response = conn.getresponse()
    assert response.status == 405
    assert response.getheader("Allow") == "POST"
    conn.close()


def _payload(**fields) -> bytes:
    base = {"type": "block_actions", "user": {"id": "U0ANA"}, "team": {"id": "T0BRAND"}}
    return urlencode({"payload": json.dumps({**base, **fields})}).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_payload(actions={"action_id": "x"}), "actions is not a list of objects"),
        (_payload(actions=["x"]), "actions is not a list of objects"),
        (_payload(type="view_submission", view={"id": "V1", "callback_id": "x"}), "view is not an object with a type"),
        (urlencode({"payload": "[1, 2]"}).encode(), "payload is not an object with a type"),
        (urlencode({"payload": "{not json"}).encode(), "unparsable body"),
        (_payload(user="U0ANA"), "user is not an object"),
    ],
)
def test_malformed_signed_payloads_get_400(offline, body, reason):
    answer = offline.agent.send(body)
    assert answer.status == 400
    assert answer.json() == {"error": reason}
