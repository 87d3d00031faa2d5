"""The channels file: every problem as file:line:col, secrets only by reference, the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook.channels.config import ConfigError, channels_schema, load_channels_config, parse_channels_config
from runbook.spec.errors import SpecError

GOOD = b"""\
brands:
  usairways: {name: US Airways}
channels:
  bsky: {platform: bluesky, service: "http://127.0.0.1:2583"}
accounts:
  usairways-bsky:
    brand: usairways
    channel: bsky
    handle: usairways.test
    token_env: TEST_BSKY_PASSWORD
    rate_limit: 300/5m
"""


def test_good_file_parses() -> None:
    config = parse_channels_config(GOOD, "channels.yaml")
    assert config.channel_of("usairways-bsky").platform == "bluesky"
    assert config.account("usairways-bsky").token_ref().env == "TEST_BSKY_PASSWORD"


def test_every_problem_has_file_line_column() -> None:
    bad = GOOD.replace(b"brand: usairways\n", b"brand: nobody\n").replace(b"platform: bluesky", b"platform: myspace")
    bad = bad.replace(b"    rate_limit: 300/5m\n", b"    rate_limit: 300/5m\n    colour: red\n")
    with pytest.raises(SpecError) as caught:
        parse_channels_config(bad, "channels.yaml")
    lines = [str(e) for e in caught.value.errors]
    assert any(line.startswith("channels.yaml:4:") and "platform" in line for line in lines), lines
    assert any(line.startswith("channels.yaml:12:5:") and "unknown field 'colour'" in line for line in lines), lines


def test_cross_checks_name_the_field() -> None:
    bad = GOOD.replace(b"brand: usairways\n", b"brand: nobody\n")
    with pytest.raises(SpecError) as caught:
        parse_channels_config(bad, "c.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "c.yaml:7:12: accounts.usairways-bsky.brand: unknown brand 'nobody'; declare it under brands:"
    ]


def test_a_secret_written_into_the_file_is_refused() -> None:
    bad = GOOD.replace(b"token_env: TEST_BSKY_PASSWORD", b"app_password: hunter2-secret")
    with pytest.raises(SpecError) as caught:
        parse_channels_config(bad, "c.yaml")
    text = str(caught.value)
    assert "looks like a secret written into the config" in text and "app_password_env" in text


def test_secrets_resolve_from_env_or_file_and_errors_never_hold_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token.txt").write_text("s3cr3t-from-file\n")
    raw = GOOD.replace(b"token_env: TEST_BSKY_PASSWORD", b"token_file: token.txt")
    (tmp_path / "channels.yaml").write_bytes(raw)
    config = load_channels_config(tmp_path / "channels.yaml")
    secret = config.account("usairways-bsky").secret()
    assert secret.get_secret_value() == "s3cr3t-from-file"
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in repr(config)
    config = parse_channels_config(GOOD, "c.yaml")
    monkeypatch.delenv("TEST_BSKY_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="environment variable TEST_BSKY_PASSWORD is not set"):
        config.account("usairways-bsky").secret()


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads((Path(__file__).parents[2] / "docs" / "channels.schema.json").read_text())
    assert committed == channels_schema(), "regenerate: runbook channels schema --out docs/channels.schema.json"
