"""Audit hardening: SQLite refuses an `INSERT OR REPLACE` over an existing audit row.

The trigger set lives in runbook.audit.triggers; installing it again adds what is new (and on
PostgreSQL re-enables a disabled trigger).
"""

from __future__ import annotations

from alembic import op

from runbook.audit import triggers

revision: str = "0005_w17"
down_revision: str | None = "0005_w11a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    triggers.install(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in triggers.APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
