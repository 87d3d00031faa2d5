"""Fixtures of the network tests: databases, the real local atproto network (session-scoped, in its
own PostgreSQL database; skipped locally when not installed, a failure in CI), and adapters on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401
from tests.networks import localbsky


@pytest.fixture(scope="session")
def bsky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localbsky.LocalBluesky]:
    problem = localbsky.missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Bluesky tests: {problem}")
        pytest.skip(problem)
    network = localbsky.start(tmp_path_factory.mktemp("bsky"))
    try:
        yield network
    finally:
        network.stop()


def unique_handle(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}.test"


def channels_yaml(net: localbsky.LocalBluesky, accounts: dict[str, str]) -> bytes:
    """A channels file for `accounts` (account id -> handle), each password in BSKY_PW_<ID>."""
    lines = [
        "brands:",
        "  brand: {name: US Airways}",
        "channels:",
        f'  bsky: {{platform: bluesky, service: "{net.pds}", appview: "{net.appview}",'
        " tuning: {timeout: 10, budget: 30}}",
        "accounts:",
    ]
    for account_id, handle in accounts.items():
        lines += [
            f"  {account_id}:",
            "    brand: brand",
            "    channel: bsky",
            f"    handle: {handle}",
            f"    token_env: BSKY_PW_{account_id.upper().replace('-', '_')}",
        ]
    return ("\n".join(lines) + "\n").encode()


def environ_for(net: localbsky.LocalBluesky, accounts: dict[str, str]) -> dict[str, str]:
    return {f"BSKY_PW_{aid.upper().replace('-', '_')}": net.passwords[h] for aid, h in accounts.items()}


def bluesky_adapter(net: localbsky.LocalBluesky, engine: Any, handle: str, account_id: str = "brand") -> Any:
    from runbook.channels.config import parse_channels_config
    from runbook.channels.registry import build_adapter

    accounts = {account_id: handle}
    config = parse_channels_config(channels_yaml(net, accounts), "channels.yaml")
    return build_adapter(config, account_id, engine=engine, environ=environ_for(net, accounts))


def write_channels(tmp: Path, net: localbsky.LocalBluesky, accounts: dict[str, str]) -> Path:
    path = tmp / "channels.yaml"
    path.write_bytes(channels_yaml(net, accounts))
    return path
