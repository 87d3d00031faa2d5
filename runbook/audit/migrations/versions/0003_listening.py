"""Listening: mention (ingested and scored mentions), mention_cursor (per channel), listen_alert
(spike alerts, one open per brand) and convene_ack (who was asked to join, deadlines, escalation).

Revision ID: 0003_listening
Revises: 0002_post_queue
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_listening"
down_revision: str | None = "0002_post_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a bigint.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mention",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("author_followers", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("negative", sa.SmallInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("in_reply_to", sa.String(200), nullable=True),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("engagement", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.UniqueConstraint("platform", "ref", name="uq_mention_platform_ref"),
    )
    # Covering index of the spike check: counts and negatives per account and time range
    # are answered from the index alone.
    op.create_index("ix_mention_account_epoch", "mention", ["account", "epoch", "platform", "negative"])
    op.create_index("ix_mention_epoch", "mention", ["epoch"])
    op.create_index("ix_mention_in_reply_to", "mention", ["in_reply_to"])

    op.create_table(
        "mention_cursor",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("fetched", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )

    op.create_table(
        "listen_alert",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("brand", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("peak_volume", sa.Integer(), nullable=False),
        sa.Column("baseline_mean", sa.Float(), nullable=False),
        sa.Column("baseline_std", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=False),
        sa.Column("baseline_negative_share", sa.Float(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("start_claim", sa.String(64), nullable=True),
    )
    # At most one open alert per brand, also across processes: the second opener's INSERT fails.
    op.create_index(
        "ux_listen_alert_open_brand",
        "listen_alert",
        ["brand"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_listen_alert_opened_at", "listen_alert", ["opened_at"])

    op.create_table(
        "convene_ack",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("deputy_of", sa.String(64), nullable=True),
        sa.Column("asked_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("acked_at", TS, nullable=True),
        sa.Column("acked_via", sa.String(20), nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.UniqueConstraint("incident_id", "step_id", "person", name="uq_convene_ack_person"),
    )
    op.create_index("ix_convene_ack_deadline", "convene_ack", ["deadline"])


def downgrade() -> None:
    op.drop_index("ix_convene_ack_deadline", table_name="convene_ack")
    op.drop_table("convene_ack")
    op.drop_index("ix_listen_alert_opened_at", table_name="listen_alert")
    op.drop_index("ux_listen_alert_open_brand", table_name="listen_alert")
    op.drop_table("listen_alert")
    op.drop_table("mention_cursor")
    for index in ("ix_mention_in_reply_to", "ix_mention_epoch", "ix_mention_account_epoch"):
        op.drop_index(index, table_name="mention")
    op.drop_table("mention")
