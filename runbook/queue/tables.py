"""Tables of the post queue: posts, freezes with their exact post lists, thaws with per-post
outcomes, a lock row, and APScheduler's job table (created here so Alembic owns the schema).

Created by the Alembic revision 0002_post_queue; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runbook.audit.models import UTCDateTime

metadata = sa.MetaData()
# Declarative columns, frozen with revision 0002: they look like other packages' tables, but are this schema.

posts = sa.Table(
    "queue_post",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("account", sa.String(100), nullable=False),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("media", sa.JSON(), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("run_at", UTCDateTime(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("freeze_id", sa.String(32), nullable=True),
    sa.Column("findings", sa.JSON(), nullable=False),
    sa.Column("reviewed_by", sa.String(100), nullable=True),
    sa.Column("reviewed_rules", sa.JSON(), nullable=True),  # block rules the reviewer accepted
    sa.Column("ref", sa.String(64), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("source", sa.String(300), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("publishing_at", UTCDateTime(), nullable=True),
    sa.Column("published_at", UTCDateTime(), nullable=True),
    # The freeze is one UPDATE ... WHERE status = 'scheduled' AND account IN (...).
    sa.Index("ix_queue_post_status_account", "status", "account"),
    sa.Index("ix_queue_post_freeze_id", "freeze_id"),
)

freezes = sa.Table(
    "queue_freeze",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    # Unique: a second freeze for the same incident returns the first (NULLs may repeat).
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=True, unique=True),
    sa.Column("scope", sa.JSON(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("post_count", sa.Integer(), nullable=False),
    sa.Column("publishing", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # active | thawed
    sa.Column("thawed_at", UTCDateTime(), nullable=True),
    sa.Column("audit_seq", sa.Integer(), nullable=True),  # set once freeze.created is in the audit chain
    # Revision 0005_w13: someone kept the freeze on purpose after its incident ended (audited), and
    # when its orphaning was flagged to the chat (once).
    sa.Column("kept_by", sa.String(200), nullable=True),
    sa.Column("kept_at", UTCDateTime(), nullable=True),
    sa.Column("kept_reason", sa.Text(), nullable=True),
    sa.Column("flagged_at", UTCDateTime(), nullable=True),
)

freeze_posts = sa.Table(
    "queue_freeze_post",
    metadata,
    sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), primary_key=True),
    sa.Column("post_id", sa.String(32), primary_key=True),
)

thaws = sa.Table(
    "queue_thaw",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # proposed | applied | superseded
    sa.Column("key", sa.String(200), nullable=True, unique=True),  # a rerun step finds its proposal
    sa.Column("proposed_by", sa.String(200), nullable=False),
    sa.Column("proposed_at", UTCDateTime(), nullable=False),
    sa.Column("approved_by", sa.String(200), nullable=True),
    sa.Column("applied_at", UTCDateTime(), nullable=True),
    sa.Column("overrides", sa.JSON(), nullable=True),
)

# remote_hold repeats these thaw columns (nullable there): each table is frozen with its own revision.
thaw_items = sa.Table(
    "queue_thaw_item",
    metadata,
    sa.Column("thaw_id", sa.String(32), sa.ForeignKey("queue_thaw.id"), primary_key=True),
    sa.Column("post_id", sa.String(32), primary_key=True),
    sa.Column("proposed", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("findings", sa.JSON(), nullable=False),
    sa.Column("proposed_run_at", UTCDateTime(), nullable=True),
    sa.Column("action", sa.String(20), nullable=True),
    sa.Column("run_at", UTCDateTime(), nullable=True),
    sa.Column("outcome", sa.String(40), nullable=True),
)

# key 'lock': freezes take it FOR UPDATE, writers that create scheduled posts FOR SHARE, so a
# post scheduled concurrently with a freeze is either seen by it or sees the freeze (PostgreSQL).
meta = sa.Table(
    "queue_meta",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

# Same shape as apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore's table, whose
# create(checkfirst=True) then finds it.
jobs = sa.Table(
    "apscheduler_jobs",
    metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary(), nullable=False),
)
