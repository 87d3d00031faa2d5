"""Tables of the individual replies: one row per person to answer (tracked to done) and one per
review batch (so an approver's decision is applied exactly once).

Created by the Alembic revision 0004_messaging; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runbook.audit.models import UTCDateTime

# Column lists look alike across the packages' tables (ids, keys, timestamps) on purpose: each
# table mirrors its own frozen migration column for column, so none is built from a shared helper.
metadata = sa.MetaData()
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

STATUSES = ("pending", "drafted", "approved", "sent", "skipped", "failed")

replies = sa.Table(
    "messaging_reply",
    metadata,
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(32), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("person", sa.String(200), nullable=False),  # "platform:handle" (casefolded): the dedup key
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),  # the handle as the person writes it
    sa.Column("account", sa.String(100), nullable=False),  # our account the reply goes out from
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("to_ref", sa.String(300), nullable=False),  # the mention answered (0005 widened it)
    sa.Column("mention_refs", sa.JSON(), nullable=False),
    sa.Column("mentioned_at", UTCDateTime(), nullable=False),
    sa.Column("said", sa.Text(), nullable=False),
    sa.Column("concern", sa.String(30), nullable=False),
    sa.Column("draft", sa.Text(), nullable=True),  # what the template wrote
    sa.Column("text", sa.Text(), nullable=True),  # what goes out: the draft or the approver's edit
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("flags", sa.JSON(), nullable=False),  # near_duplicate {of, score}, blocked, edit_blocked
    sa.Column("findings", sa.JSON(), nullable=False),
    sa.Column("batch", sa.Integer(), nullable=True),  # the review batch it is (or was last) shown in
    sa.Column("decided_by", sa.String(100), nullable=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the send's idempotency key
    sa.Column("ref", sa.String(300), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("attempt_at", UTCDateTime(), nullable=True),  # set before each send: a crash leaves it
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("audited", sa.Boolean(), nullable=False),  # reply.sent / reply.failed appended
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("incident_id", "step_id", "person", name="uq_messaging_reply_person"),
    sa.Index("ix_messaging_reply_status", "incident_id", "step_id", "status"),
)

# One row per review batch (incident, step, number): laid out like other tables, but 0004_messaging's own.
batches = sa.Table(
    "messaging_reply_batch",
    metadata,
    sa.Column("incident_id", sa.String(32), primary_key=True),
    sa.Column("step_id", sa.String(64), primary_key=True),
    sa.Column("batch", sa.Integer(), primary_key=True),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("presented_at", UTCDateTime(), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("decided_by", sa.String(100), nullable=True),
    sa.Column("summary", sa.JSON(), nullable=True),
)
