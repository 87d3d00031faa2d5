"""Tables of the real-network adapters: the write ledger (idempotency key -> what the network got).

Created by the Alembic revision 0005_w12a; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runbook.audit.models import UTCDateTime

# Column lists look alike across the packages' tables (ids, keys, timestamps) on purpose: each
# table mirrors its own frozen migration column for column, so none is built from a shared helper.
metadata = sa.MetaData()

# One row per write under an idempotency key, recorded BEFORE the network call with the id the
# write will carry (Bluesky: the record key), so a crash between the call and our commit is
# reconciled by asking the network for that id, never by writing twice.
writes = sa.Table(
    "channel_write",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("account", sa.String(100), nullable=False),  # the configured account id
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # publish | reply | delete
    sa.Column("native", sa.String(300), nullable=True),  # the id chosen before the call (rkey), if any
    sa.Column("ref", sa.String(300), nullable=True),  # set once the network confirmed the write
    sa.Column("parts", sa.JSON(), nullable=False),  # a thread: every part's ref, in order
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime(), nullable=True),
)
