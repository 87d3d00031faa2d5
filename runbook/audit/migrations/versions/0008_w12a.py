"""Real networks: channel_write (the adapters' write ledger), and wider post references on the
reply tracking table (a Bluesky at:// URI or a Mastodon status URI is longer than 64 characters).

Revision ID: 0005_w12a
Revises: 0004_messaging
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_w12a"
down_revision: str | None = "0005_w17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_write",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("native", sa.String(300), nullable=True),
        sa.Column("ref", sa.String(300), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
    )
    with op.batch_alter_table("messaging_reply") as batch:
        batch.alter_column("to_ref", type_=sa.String(300), existing_type=sa.String(64), existing_nullable=False)
        batch.alter_column("ref", type_=sa.String(300), existing_type=sa.String(64), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("messaging_reply") as batch:
        batch.alter_column("ref", type_=sa.String(64), existing_type=sa.String(300), existing_nullable=True)
        batch.alter_column("to_ref", type_=sa.String(64), existing_type=sa.String(300), existing_nullable=False)
    op.drop_table("channel_write")
