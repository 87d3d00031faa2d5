"""Remote freeze: remote_hold (every post a freeze took off a remote queue, in full, with its
hold and thaw state) and remote_freeze (per freeze: queues in scope, timing, counts).

Revision ID: 0005_w12b
Revises: 0005_w12a
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_w12b"
down_revision: str | None = "0005_w12a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remote_hold",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("remote_id", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("run_at", TS, nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("held_at", TS, nullable=True),
        sa.Column("thaw_id", sa.String(32), nullable=True),
        sa.Column("proposed", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=True),
        sa.Column("proposed_run_at", TS, nullable=True),
        sa.Column("action", sa.String(20), nullable=True),
        sa.Column("new_run_at", TS, nullable=True),
        sa.Column("new_remote_id", sa.String(200), nullable=True),
        sa.Column("thaw_outcome", sa.String(40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("freeze_id", "queue", "remote_id", name="uq_remote_hold_post"),
    )
    op.create_index("ix_remote_hold_freeze_status", "remote_hold", ["freeze_id", "status"])
    op.create_table(
        "remote_freeze",
        sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("local_commit_ms", sa.Float(), nullable=True),
        sa.Column("last_held_ms", sa.Float(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("remote_freeze")
    op.drop_index("ix_remote_hold_freeze_status", table_name="remote_hold")
    op.drop_table("remote_hold")
