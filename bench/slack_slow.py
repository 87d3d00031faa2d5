"""Slack endpoint under slow clients: N connections trickle header lines (one a second, never
finishing) while signed `/crisis help` commands are sent one after another; prints the ack
latencies and when the header deadline cut the slow clients off. Writes
bench/results/slack_slow.json. Slack's contract: an ack within 3 s.

Usage: .venv/bin/python bench/slack_slow.py [--slow 70] [--requests 50]

One process (the app in HTTP mode on a temporary SQLite database, no Prefect) plus the fake Slack
Web API from the tests; the slow clients are threads with raw sockets.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import no_flow_run_verbs, write_results  # noqa: E402

SECRET = "bench-signing-secret-5e8f0c1d"


def trickle(host: str, port: int, stop: threading.Event, closed: list[float], opened: float) -> None:
    sock = socket.create_connection((host, port), timeout=30)
    sock.settimeout(1.0)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            sock.sendall(b"X-A: b\r\n")
            try:
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
    except OSError:
        pass
    finally:
        closed.append(time.monotonic() - opened)
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=70)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    from pydantic import SecretStr

    from runbook.engine.services import build_services
    from runbook.settings import Settings
    from runbook.slack import create_app, make_server
    from runbook.slack import http as slack_http
    from runbook.slack.verify import sign
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack().start()
    home = Path(tempfile.mkdtemp(prefix="bench-slack-slow-"))
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'runbook.db'}",
        roster=ROOT / "tests" / "slack" / "roster.yaml",
        playbooks_dir=ROOT / "tests" / "slack" / "playbooks",
        templates_dir=ROOT / "templates",
        slack_bot_token=SecretStr(fake.token),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
    )
    services = build_services(settings, migrate=True)
    app = create_app(settings=settings, services=services, verbs=no_flow_run_verbs(), relay=False)
    server = make_server(app.bolt, signing_secret=SECRET, host="127.0.0.1", port=0, quiet=app.quiet)
    server.start_background()
    host, port = server.server_address[:2]
    stop, closed, opened = threading.Event(), [], time.monotonic()
    threads = [
        threading.Thread(target=trickle, args=(host, port, stop, closed, opened), daemon=True) for _ in range(args.slow)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    import http.client

    acks = []
    for n in range(args.requests):
        body = urllib.parse.urlencode(
            {
                "command": "/crisis",
                "text": "help",
                "user_id": "U0ANA",
                "team_id": "T0",
                "channel_id": "C0",
                "trigger_id": f"bench.{n}",
                "response_url": f"{fake.base}/response/b{n}",
            }
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body, int(time.time()))}
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("POST", "/slack/events", body=body, headers=headers)
        status = conn.getresponse().status
        conn.close()
        acks.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    end = time.monotonic() + slack_http.HEADER_TIMEOUT + 5
    while len(closed) < args.slow and time.monotonic() < end:
        time.sleep(0.2)
    stop.set()
    result = {
        "slow_clients": args.slow,
        "requests": args.requests,
        "header_timeout_s": slack_http.HEADER_TIMEOUT,
        "ack_p50_ms": round(statistics.median(acks), 1),
        "ack_max_ms": round(max(acks), 1),
        "slow_clients_cut_off": len(closed),
        "cut_off_after_s": round(max(closed), 1) if closed else None,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    server.server_close()
    app.close()
    fake.stop()
    print(json.dumps(result, indent=2))
    write_results(ROOT / "bench" / "results" / "slack_slow.json", result)


if __name__ == "__main__":
    main()
