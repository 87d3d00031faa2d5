"""Post queue and sandbox network: queue_post, queue_freeze(+_post), queue_thaw(+_item), queue_meta,
apscheduler_jobs, sandbox_account, sandbox_post, sandbox_mention.

Revision ID: 0002_post_queue
Revises: 0001_audit
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_post_queue"
down_revision: str | None = "0001_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "queue_post",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("run_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("freeze_id", sa.String(32), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_rules", sa.JSON(), nullable=True),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("publishing_at", TS, nullable=True),
        sa.Column("published_at", TS, nullable=True),
    )
    op.create_index("ix_queue_post_status_account", "queue_post", ["status", "account"])
    op.create_index("ix_queue_post_freeze_id", "queue_post", ["freeze_id"])

    op.create_table(
        "queue_freeze",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=True, unique=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("publishing", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("thawed_at", TS, nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
    )
    op.create_table(
        "queue_freeze_post",
        sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), primary_key=True),
        sa.Column("post_id", sa.String(32), primary_key=True),
    )
    op.create_table(
        "queue_thaw",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=True, unique=True),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("overrides", sa.JSON(), nullable=True),
    )
    op.create_index("ix_queue_thaw_freeze_id", "queue_thaw", ["freeze_id"])
    op.create_table(
        "queue_thaw_item",
        sa.Column("thaw_id", sa.String(32), sa.ForeignKey("queue_thaw.id"), primary_key=True),
        sa.Column("post_id", sa.String(32), primary_key=True),
        sa.Column("proposed", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("proposed_run_at", TS, nullable=True),
        sa.Column("action", sa.String(20), nullable=True),
        sa.Column("run_at", TS, nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
    )
    meta = op.create_table(
        "queue_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "lock", "value": "freeze and schedule serialise on this row"}])
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])

    op.create_table(
        "sandbox_account",
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("handle", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "sandbox_post",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("delete_key", sa.String(200), nullable=True),
    )
    op.create_table(
        "sandbox_mention",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("author_followers", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sandbox_mention_account", "sandbox_mention", ["account", "id"])


def downgrade() -> None:
    for index, table in (
        ("ix_sandbox_mention_account", "sandbox_mention"),
        ("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs"),
        ("ix_queue_thaw_freeze_id", "queue_thaw"),
        ("ix_queue_post_freeze_id", "queue_post"),
        ("ix_queue_post_status_account", "queue_post"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "sandbox_mention",
        "sandbox_post",
        "sandbox_account",
        "apscheduler_jobs",
        "queue_meta",
        "queue_thaw_item",
        "queue_thaw",
        "queue_freeze_post",
        "queue_freeze",
        "queue_post",
    ):
        op.drop_table(table)
