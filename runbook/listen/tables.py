"""Tables of listening: stored mentions, ingestion cursors, spike alerts and convene acknowledgements.

Created by the Alembic revision 0003_listening; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runbook.audit.models import UTCDateTime

# Column lists look alike across the packages' tables (ids, keys, timestamps) on purpose: each
# table mirrors its own frozen migration column for column, so none is built from a shared helper.
metadata = sa.MetaData()
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# One row per mention, unique by the network's own id (platform, ref): ingestion, imports and
# re-ingestion all insert-or-ignore on that key. It opens like convene_ack below (a big id, short
# strings) only because both follow 0003_listening's column types.
mentions = sa.Table(
    "mention",
    metadata,
    sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("ref", sa.String(200), nullable=False),
    sa.Column("account", sa.String(100), nullable=False),  # the brand account mentioned or answered
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("author_followers", sa.Integer(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("sentiment", sa.Float(), nullable=False),  # -1 (negative) .. 1 (positive)
    sa.Column("negative", sa.SmallInteger(), nullable=False),  # 0/1, summed by the spike check
    sa.Column("epoch", sa.BigInteger(), nullable=False),  # created_at in Unix seconds: portable buckets
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("in_reply_to", sa.String(200), nullable=True),
    sa.Column("url", sa.String(2000), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False),  # mention | reply | repost | quote
    sa.Column("engagement", sa.Integer(), nullable=False),  # likes + reposts + replies when known
    sa.Column("source", sa.String(200), nullable=False),  # channel name or import:<file>
    sa.Column("ingested_at", UTCDateTime(), nullable=False),
    sa.Column("meta", sa.JSON(), nullable=False),
    # The complaint model's verdict (revision 0005_w11a): negative | neutral | positive, and 0/1.
    sa.Column("label", sa.String(8), nullable=False, server_default="neutral"),
    sa.Column("needs_answer", sa.SmallInteger(), nullable=False, server_default="0"),
    sa.UniqueConstraint("platform", "ref", name="uq_mention_platform_ref"),
    sa.Index("ix_mention_account_epoch", "account", "epoch", "platform", "negative"),
    sa.Index("ix_mention_epoch", "epoch"),
    sa.Index("ix_mention_in_reply_to", "in_reply_to"),
    sa.Index("ix_mention_account_epoch_answer", "account", "epoch", "needs_answer"),
)

# Where each ingester stopped, keyed by (source, account, platform) as 0003_listening made it; a
# composite string key like messaging_reply_batch's, but this table's own.
cursors = sa.Table(
    "mention_cursor",
    metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("account", sa.String(100), primary_key=True),
    sa.Column("platform", sa.String(20), primary_key=True),  # "" when the channel is asked for all
    sa.Column("cursor", sa.String(200), nullable=True),
    sa.Column("fetched", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# One row per spike alert, column for column with 0003_listening; its first string columns read
# like sandbox_account's, a likeness of types only.
alerts = sa.Table(
    "listen_alert",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("brand", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open | resolved
    sa.Column("reasons", sa.JSON(), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("window_end", UTCDateTime(), nullable=False),
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
    # Who is starting the playbook right now: one click wins when two people click at once.
    sa.Column("start_claim", sa.String(64), nullable=True),
    sa.Index(
        "ux_listen_alert_open_brand",
        "brand",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
    sa.Index("ix_listen_alert_opened_at", "opened_at"),
)

# One row per person asked to acknowledge (a deputy gets a row of their own), as 0003_listening
# created it; the opening id and strings match the mention table's types, not its meaning.
acks = sa.Table(
    "convene_ack",
    metadata,
    sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(32), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("person", sa.String(64), nullable=False),
    sa.Column("team", sa.String(64), nullable=False),
    sa.Column("level", sa.Integer(), nullable=False),  # 0 asked directly, n: n-th deputy in line
    sa.Column("deputy_of", sa.String(64), nullable=True),
    sa.Column("asked_at", UTCDateTime(), nullable=False),
    sa.Column("deadline", UTCDateTime(), nullable=False),
    sa.Column("acked_at", UTCDateTime(), nullable=True),
    sa.Column("acked_via", sa.String(20), nullable=True),
    sa.Column("escalated_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("incident_id", "step_id", "person", name="uq_convene_ack_person"),
    sa.Index("ix_convene_ack_deadline", "deadline"),
)
