"""Tables of the remote freeze: every post a freeze took off a remote queue, stored in full with
its state (intent -> held | published | absent, then restoring -> restored | killed), and one row
per freeze with its remote timing.

Created by the Alembic revision 0005_w12b; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runbook.audit.models import UTCDateTime

metadata = sa.MetaData()

# intent: recorded, not yet taken off (a crash here is finished by reconcile); held: off the
# remote schedule, ours to thaw; published: the remote scheduler sent it before we could hold it;
# restoring: the thaw decided to put it back and the call may or may not have reached the queue;
# restored / killed: done.
HOLD_STATES = ("intent", "held", "uncertain", "published", "restoring", "restored", "killed")

remote_holds = sa.Table(
    "remote_hold",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), nullable=False),
    sa.Column("queue", sa.String(100), nullable=False),
    sa.Column("remote_id", sa.String(200), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("account", sa.String(100), nullable=False),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("media", sa.JSON(), nullable=False),
    sa.Column("run_at", UTCDateTime(), nullable=False),
    sa.Column("raw", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=True),  # what hold() answered: held | absent | published
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("held_at", UTCDateTime(), nullable=True),
    # the thaw: proposal, decision, result. Like queue_thaw_item's columns, but nullable (filled when a thaw
    # proposes) and frozen with revision 0005_w12b, so the repeat stays.
    sa.Column("thaw_id", sa.String(32), nullable=True),
    sa.Column("proposed", sa.String(20), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("findings", sa.JSON(), nullable=True),
    sa.Column("proposed_run_at", UTCDateTime(), nullable=True),
    sa.Column("action", sa.String(20), nullable=True),
    sa.Column("new_run_at", UTCDateTime(), nullable=True),
    sa.Column("new_remote_id", sa.String(200), nullable=True),
    sa.Column("thaw_outcome", sa.String(40), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # One row per remote post per freeze: a redone freeze pass finds what it recorded before.
    sa.UniqueConstraint("freeze_id", "queue", "remote_id", name="uq_remote_hold_post"),
    sa.Index("ix_remote_hold_freeze_status", "freeze_id", "status"),
)

remote_freezes = sa.Table(
    "remote_freeze",
    metadata,
    sa.Column("freeze_id", sa.String(32), sa.ForeignKey("queue_freeze.id"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # holding | held | partial
    sa.Column("queues", sa.JSON(), nullable=False),  # queue names in scope
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("local_commit_ms", sa.Float(), nullable=True),
    sa.Column("last_held_ms", sa.Float(), nullable=True),  # from the freeze call to the last remote post held
    sa.Column("counts", sa.JSON(), nullable=False),
    sa.Column("errors", sa.JSON(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
