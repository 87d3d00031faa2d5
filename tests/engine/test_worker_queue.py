"""The worker's post queue publishes where configuration says: the channels file's accounts when
there is one, the sandbox only without one."""

from __future__ import annotations

from pathlib import Path

from runbook.channels.registry import ConfiguredChannels
from runbook.engine.services import build_services
from runbook.engine.worker import post_queue
from runbook.sandbox import SandboxChannel
from runbook.settings import Settings

CHANNELS = """\
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
"""


def _services(tmp_path: Path, channels: Path | None):
    settings = Settings({}, home=tmp_path / "home", channels=channels)
    return build_services(settings, migrate=True)


def test_with_a_channels_file_due_posts_go_to_its_accounts(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(CHANNELS)
    queue = post_queue(_services(tmp_path, path))
    assert isinstance(queue.channel, ConfiguredChannels)
    assert not isinstance(queue.channel, SandboxChannel)


def test_without_one_the_sandbox_network_is_the_channel(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)  # no ./channels.yaml here
    queue = post_queue(_services(tmp_path, None))
    assert isinstance(queue.channel, SandboxChannel)
