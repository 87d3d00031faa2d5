"""Alembic environment: runs on the connection (and transaction) handed over by `init_db`.

Configured programmatically, so no alembic.ini is needed; offline mode renders SQL for a URL.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import runbook.audit.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through runbook.db.init_db(engine)")
    # render_as_batch: SQLite can only alter tables by copying them; batch mode does that.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
