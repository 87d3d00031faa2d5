"""Revision 0005_w11a: mentions stored before it get a label and needs_answer from their score; the
mention table's definition matches the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runbook.db import alembic_config, make_engine
from runbook.listen.tables import mentions


def test_old_mentions_get_a_verdict_from_their_score(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0004_messaging")
    now = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        for ref, score in (("a", -0.6), ("b", 0.4), ("c", 0.0)):
            connection.execute(
                sa.text(
                    "INSERT INTO mention (platform, ref, account, author, author_followers, text, language, sentiment, "
                    "negative, epoch, created_at, kind, engagement, source, ingested_at, meta) VALUES ('x', :ref, "
                    "'SkyJet', 'amy', 1, 'old', 'en', :score, :negative, 1, :now, 'mention', 0, 't', :now, '{}')"
                ),
                {"ref": ref, "score": score, "negative": int(score <= -0.05), "now": now},
            )
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0005_w11a")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT ref, label, needs_answer FROM mention ORDER BY ref")).all()
        assert [tuple(r) for r in rows] == [("a", "negative", 1), ("b", "positive", 0), ("c", "neutral", 0)]

        def mention_only(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
            return (name if type_ == "table" else obj.table.name) == "mention"

        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": mention_only})
        alone = sa.MetaData()
        mentions.to_metadata(alone)
        assert compare_metadata(context, alone) == []
