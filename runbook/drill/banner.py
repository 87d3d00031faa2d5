"""The banner every drill posts first (in its chat and in the Slack war room), so nobody takes a
rehearsal for a real incident. Here, in the drill package, so the drill needs nothing from Slack."""

from __future__ import annotations

__all__ = ["DRILL_BANNER"]

DRILL_BANNER = (
    ":rotating_light: *DRILL - this is a rehearsal, not a real incident.* Everything is published "
    "to the sandbox network only; the public is simulated and the drill is scored."
)
