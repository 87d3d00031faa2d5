"""incident.kind: a real incident, a drill, or a standing ledger; existing ledgers get their fixed
slug ("ledger-<name>") so that creating one is race-free from now on.

Revision ID: 0005_w13
Revises: 0004_messaging
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_w13"
down_revision: str | None = "0004_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
# The playbook ids the three ledgers used before this revision.
LEDGERS = ("post-queue", "listening", "slack-access")


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="incident"))
        batch.create_index("ix_incident_kind", ["kind"])
    bind = op.get_bind()
    incident = sa.table(
        "incident",
        sa.column("id"),
        sa.column("slug"),
        sa.column("playbook_id"),
        sa.column("kind"),
        sa.column("created_at"),
    )
    meta = sa.table("queue_meta", sa.column("key"), sa.column("value"))
    bind.execute(incident.update().where(incident.c.playbook_id.in_(LEDGERS)).values(kind="ledger"))
    for name in LEDGERS:
        chosen = None
        if name == "post-queue":  # the queue recorded which of its ledgers is the one
            chosen = bind.execute(sa.select(meta.c.value).where(meta.c.key == "ledger_incident")).scalar()
        if chosen is None:  # the others let the oldest win
            chosen = bind.execute(
                sa.select(incident.c.id)
                .where(incident.c.playbook_id == name)
                .order_by(incident.c.created_at, incident.c.id)
                .limit(1)
            ).scalar()
        if chosen is not None:
            bind.execute(incident.update().where(incident.c.id == chosen).values(slug=f"ledger-{name}"))

    # A freeze kept on purpose after its incident ended, and when its orphaning was flagged.
    with op.batch_alter_table("queue_freeze") as batch:
        batch.add_column(sa.Column("kept_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("kept_at", TS, nullable=True))
        batch.add_column(sa.Column("kept_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("flagged_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_freeze") as batch:
        for column in ("flagged_at", "kept_reason", "kept_at", "kept_by"):
            batch.drop_column(column)
    with op.batch_alter_table("incident") as batch:
        batch.drop_index("ix_incident_kind")
        batch.drop_column("kind")
