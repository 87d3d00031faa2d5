"""The sandbox social network (stored in our database) and its mention storm simulator."""

from __future__ import annotations

from runbook.sandbox.network import SandboxChannel, ensure_account
from runbook.sandbox.scenarios import SCENARIOS
from runbook.sandbox.storm import StormMention, StormResult, generate, load_storm

__all__ = ["SCENARIOS", "SandboxChannel", "StormMention", "StormResult", "ensure_account", "generate", "load_storm"]
