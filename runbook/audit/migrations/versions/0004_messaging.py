"""Individual replies: messaging_reply (one row per person, tracked pending -> sent) and
messaging_reply_batch (review batches, each decision applied once).

Revision ID: 0004_messaging
Revises: 0003_listening
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_messaging"
down_revision: str | None = "0003_listening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "messaging_reply",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("to_ref", sa.String(64), nullable=False),
        sa.Column("mention_refs", sa.JSON(), nullable=False),
        sa.Column("mentioned_at", TS, nullable=False),
        sa.Column("said", sa.Text(), nullable=False),
        sa.Column("concern", sa.String(30), nullable=False),
        sa.Column("draft", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("audited", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("incident_id", "step_id", "person", name="uq_messaging_reply_person"),
        sa.CheckConstraint(
            "status IN ('pending', 'drafted', 'approved', 'sent', 'skipped', 'failed')",
            name="ck_messaging_reply_status",
        ),
    )
    op.create_index("ix_messaging_reply_status", "messaging_reply", ["incident_id", "step_id", "status"])
    op.create_table(
        "messaging_reply_batch",
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), primary_key=True),
        sa.Column("step_id", sa.String(64), primary_key=True),
        sa.Column("batch", sa.Integer(), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("presented_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("messaging_reply_batch")
    op.drop_index("ix_messaging_reply_status", table_name="messaging_reply")
    op.drop_table("messaging_reply")
