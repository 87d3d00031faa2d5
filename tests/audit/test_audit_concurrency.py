"""Several processes appending to one incident keep its chain contiguous and unforked;
several processes initialising one fresh database at once all succeed."""

from __future__ import annotations

import itertools
import multiprocessing

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from runbook import audit
from runbook.db import alembic_config, init_db, make_engine
from tests.audit.audit_helpers import append_many, init_concurrently, new_incident

WORKERS, EACH = 4, 1_000


def run_workers(target, args_for) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=target, args=(*args_for(k), barrier)) for k in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * WORKERS


@pytest.mark.slow
def test_four_processes_append_to_one_incident(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    incident = new_incident(engine)

    run_workers(append_many, lambda k: (db_url, incident.id, k, EACH))

    events = audit.events(engine, incident.id)
    assert [event.seq for event in events] == list(range(1, WORKERS * EACH + 1))
    assert all(after.prev_hash == before.hash for before, after in itertools.pairwise(events))
    for k in range(WORKERS):
        mine = [event.details["i"] for event in events if event.actor == f"worker-{k}"]
        assert mine == list(range(EACH))  # each worker's own events, in its order
    report = audit.verify(engine)
    assert (report.ok, report.checked) == (True, WORKERS * EACH)


@pytest.mark.slow
def test_init_db_from_several_processes_at_once(db_url: str) -> None:
    run_workers(init_concurrently, lambda k: (db_url,))
    engine = make_engine(db_url)
    init_db(engine)
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [ScriptDirectory.from_config(alembic_config()).get_current_head()]
    incident = new_incident(engine)
    audit.append(engine, incident_id=incident.id, actor="system", channel="flow", action="incident.started")
    assert audit.verify(engine).ok
