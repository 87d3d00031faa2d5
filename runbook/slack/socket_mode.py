"""Socket Mode: `runbook serve` without a public address. The CLI connects and closes through here,
so only runbook.slack imports Bolt."""

from __future__ import annotations

from typing import Any

__all__ = ["connect"]


def connect(bolt: Any, app_token: str) -> Any:
    """Connects the Bolt app to Slack over Socket Mode; returns the handler (call `.close()` to stop)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bolt, app_token)
    handler.connect()
    return handler
