"""Standing ledgers and incident kinds: one ledger per name even when processes race, kinds filter
the listings, and revision 0005_w13 adopts the ledgers that older versions created."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa
from alembic import command

from runbook import audit
from runbook.db import alembic_config, make_engine
from tests.audit.audit_helpers import new_incident


def _ledger_in_child(url: str, barrier, out) -> None:  # noqa: ANN001 - spawned
    engine = make_engine(url)
    barrier.wait(timeout=60)
    out.put(audit.ledger(engine, "post-queue"))


def test_racing_processes_share_one_ledger(db_url: str, engine: sa.Engine) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_ledger_in_child, args=(db_url, barrier, out)) for _ in range(4)]
    for w in workers:
        w.start()
    ids = {out.get(timeout=60) for _ in workers}
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert len(ids) == 1
    ledgers = audit.list_incidents(engine, kind="ledger")
    assert [(i.id, i.slug, i.playbook_id) for i in ledgers] == [(ids.pop(), "ledger-post-queue", "post-queue")]


def test_kinds_filter_listings(engine: sa.Engine) -> None:
    real = new_incident(engine)
    drill = new_incident(engine, "Drill: offensive reply", kind="drill")
    queue = audit.ledger(engine, "post-queue")
    assert audit.ledger(engine, "listening") != queue
    assert [i.id for i in audit.list_incidents(engine, kind="incident")] == [real.id]
    assert [i.id for i in audit.list_incidents(engine, kind=("incident", "drill"))] == [real.id, drill.id]
    assert len(audit.list_incidents(engine)) == 4
    assert audit.get_incident(engine, "ledger-post-queue").kind == "ledger"
    with pytest.raises(ValueError, match="kind must be one of"):
        new_incident(engine, kind="rehearsal")


def test_fleet_report_and_status_skip_ledgers(engine: sa.Engine) -> None:
    from runbook.postmortem import fleet

    real = new_incident(engine)
    new_incident(engine, "A drill", kind="drill")
    audit.ledger(engine, "slack-access")
    assert [r.incident.id for r in fleet.reports(engine)] == [real.id]
    assert len(fleet.reports(engine, kinds=("incident", "drill"))) == 2


def test_migration_adopts_existing_ledgers(sqlite_url: str) -> None:
    config = alembic_config()
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_messaging")
    incident = sa.table(
        "incident",
        *(
            sa.column(c)
            for c in (
                "id",
                "slug",
                "title",
                "playbook_id",
                "playbook_version",
                "inputs",
                "requester",
                "status",
                "created_at",
            )
        ),
    )
    rows = [  # two racing Slack access ledgers (oldest won), a queue ledger named in queue_meta, a crisis
        ("a1", "2026-01-01-slack-access-ledger", "slack-access", "2026-01-01 10:00:00"),
        ("a2", "2026-01-01-slack-access-ledger-2", "slack-access", "2026-01-01 10:00:01"),
        ("q0", "2026-01-01-post-queue-ledger", "post-queue", "2026-01-01 09:00:00"),
        ("q1", "2026-01-01-post-queue-ledger-2", "post-queue", "2026-01-01 10:00:00"),
        ("c1", "2026-01-01-offensive-reply", "social-media-mistake", "2026-01-01 11:00:00"),
    ]
    with engine.begin() as connection:
        for id_, slug, playbook, ts in rows:
            connection.execute(
                incident.insert().values(
                    id=id_,
                    slug=slug,
                    title="t",
                    playbook_id=playbook,
                    playbook_version=1,
                    inputs="{}",
                    requester="x",
                    status="open",
                    created_at=ts,
                )
            )
        connection.execute(sa.text("INSERT INTO queue_meta (key, value) VALUES ('ledger_incident', 'q1')"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005_w13")
    assert audit.ledger(engine, "slack-access") == "a1"
    assert audit.ledger(engine, "post-queue") == "q1"
    assert {i.id for i in audit.list_incidents(engine, kind="ledger")} == {"a1", "a2", "q0", "q1"}
    assert [i.id for i in audit.list_incidents(engine, kind="incident")] == ["c1"]
