"""Database triggers that make the audit tables append-only: defined in runbook.db_triggers,
beside runbook.db which installs and checks them (the database layer imports nothing above it)."""

from __future__ import annotations

from runbook.db_triggers import APPEND_ONLY_TABLES, disable, install, problems, remove

__all__ = ["APPEND_ONLY_TABLES", "disable", "install", "problems", "remove"]
