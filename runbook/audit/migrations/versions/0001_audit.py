"""Audit trail: incident, audit_event, audit_checkpoint and their append-only triggers.

Revision ID: 0001_audit
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from runbook.audit import triggers

revision: str = "0001_audit"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("playbook_id", sa.String(200), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(50), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
    )
    op.create_index("ix_incident_slug", "incident", ["slug"], unique=True)
    op.create_index("ix_incident_status", "incident", ["status"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("step", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("incident_id", "seq", name="uq_audit_event_incident_seq"),
    )

    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", UTC_DATETIME, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_checkpoint_incident_id", "audit_checkpoint", ["incident_id"])

    # The shared installer keeps one definition of the trigger SQL; a later change to the
    # triggers gets its own revision that drops and re-creates them.
    triggers.install(op.get_bind())


def downgrade() -> None:
    triggers.remove(op.get_bind())
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_event")
    op.drop_table("incident")
