"""A Prefect server for this machine when none is configured (the demo), and health checks.

Runs `prefect server start` as a child process with its database under RUNBOOK_HOME/prefect, so
the runs stay browsable afterwards with `runbook server`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from runbook.settings import child_environment


def healthy(api_url: str, *, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def free_port(preferred: int = 4200) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


def ui_environment(*, host: str, port: int, public_url: str | None = None) -> dict[str, str]:
    """PREFECT_UI_URL and PREFECT_UI_API_URL for a server on host:port: without them the UI served
    on any port but 4200 (or behind a proxy) calls 127.0.0.1:4200 and shows a blank page.
    `public_url` is where browsers reach the server (a TLS proxy: https://prefect.example.org)."""
    if public_url:
        base = public_url.rstrip("/")
    else:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        base = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    return {"PREFECT_UI_URL": base, "PREFECT_UI_API_URL": f"{base}/api"}


def ui_url_from_api(api_url: str) -> str:
    """The UI's address from the API's (`http://h:p/api` -> `http://h:p`)."""
    url = api_url.rstrip("/")
    return url[: -len("/api")] if url.endswith("/api") else url


@dataclass
class LocalServer:
    process: subprocess.Popen
    api_url: str
    ui_url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:  # the server and the workers it forks share its session
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start_local_server(
    *, prefect_home: Path, log: Path, port: int | None = None, timeout: float = 90, env: dict[str, str] | None = None
) -> LocalServer:
    """`env` adds to the environment, e.g. PREFECT_API_DATABASE_CONNECTION_URL for PostgreSQL."""
    port = port or free_port()
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = child_environment(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            **ui_environment(host="127.0.0.1", port=port),
            **(env or {}),
        }
    )
    env.pop("PREFECT_API_URL", None)
    handle = open(log, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LocalServer(
        process=process, api_url=f"http://127.0.0.1:{port}/api", ui_url=f"http://127.0.0.1:{port}", log=log
    )
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited (code {process.returncode}); see {log}")
        if healthy(server.api_url, timeout=1):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"the Prefect server did not become healthy within {timeout:.0f}s; see {log}")
