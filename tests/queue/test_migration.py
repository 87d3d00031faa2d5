"""The 0002 migration creates exactly the tables the code describes (columns and nullability)."""

from __future__ import annotations

import sqlalchemy as sa

from runbook.queue.tables import metadata as queue_metadata
from runbook.sandbox.tables import metadata as sandbox_metadata


def test_migrated_schema_matches_the_table_definitions(engine) -> None:  # noqa: ANN001
    inspector = sa.inspect(engine)
    for table in [*queue_metadata.tables.values(), *sandbox_metadata.tables.values()]:
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}, table.name
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT key FROM queue_meta")).scalars().all() == ["lock"]
