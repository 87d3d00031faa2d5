"""Mentions carry the complaint model's verdict: mention.label (negative | neutral | positive) and
mention.needs_answer (0/1: a complaint, a question to the brand or a call for help).

Rows stored before this revision get a label from their stored score and needs_answer from their
negative flag (the model was not run on them).

Revision ID: 0005_w11a
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_w11a"
down_revision: str | None = "0005_w13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mention") as batch:
        batch.add_column(sa.Column("label", sa.String(8), nullable=False, server_default="neutral"))
        batch.add_column(sa.Column("needs_answer", sa.SmallInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE mention SET label = CASE WHEN negative = 1 THEN 'negative' "
        "WHEN sentiment >= 0.05 THEN 'positive' ELSE 'neutral' END, needs_answer = negative"
    )
    op.create_index("ix_mention_account_epoch_answer", "mention", ["account", "epoch", "needs_answer"])


def downgrade() -> None:
    op.drop_index("ix_mention_account_epoch_answer", table_name="mention")
    with op.batch_alter_table("mention") as batch:
        batch.drop_column("needs_answer")
        batch.drop_column("label")
