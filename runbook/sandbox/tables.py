"""Tables of the sandbox social network: accounts, our posts and replies, and other people's mentions.

Created by the Alembic revision 0002_post_queue; these definitions must stay in step with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from runbook.audit.models import UTCDateTime

# Column lists look alike across the packages' tables (ids, keys, timestamps) on purpose: each
# table mirrors its own frozen migration column for column, so none is built from another's helper.
metadata = sa.MetaData()


def _network_post(name: str, *columns: SchemaItem) -> sa.Table:
    """A table of posts on the network, ours or other people's: the autoincrement id (a mention's
    cursor), the idempotency key it was written under, and where it stands; then `columns`."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        *columns,
    )


# Declarative columns, frozen with revision 0002: they look like other packages' tables, but are this schema.
accounts = sa.Table(
    "sandbox_account",
    metadata,
    sa.Column("platform", sa.String(20), primary_key=True),
    sa.Column("handle", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # brand | personal
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("followers", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# Our writes: posts and replies. A deletion is a timestamp, never a removed row (evidence).
posts = _network_post(
    "sandbox_post",
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("media", sa.JSON(), nullable=False),
    sa.Column("in_reply_to", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime(), nullable=True),
    sa.Column("delete_key", sa.String(200), nullable=True),
)

# Other people's posts that mention or answer the brand; the autoincrement id is the cursor.
mentions = _network_post(
    "sandbox_mention",
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("author_followers", sa.Integer(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("in_reply_to", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("meta", sa.JSON(), nullable=False),
    sa.Index("ix_sandbox_mention_account", "account", "id"),
)
