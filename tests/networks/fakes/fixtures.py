"""Fixtures of the remote-queue and X/Meta tests (imported by those test modules, so this
branch adds no conftest that another branch's tests/networks/conftest.py would collide with)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runbook import audit
from runbook.checks import Checker
from runbook.queue.jobs import JobBook
from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401
from tests.networks.fakes.buffer_api import FakeBuffer

BUFFER_TOKEN = "buf-SECRET-7f3a9c"  # a test secret: the tests grep outputs for it


@pytest.fixture
def fake_buffer() -> Iterator[FakeBuffer]:
    with FakeBuffer(token=BUFFER_TOKEN) as fake:
        yield fake


@pytest.fixture
def checker() -> Iterator[Checker]:
    made = Checker(links=False)
    yield made
    made.close()


@pytest.fixture
def jobs(engine) -> Iterator[JobBook]:  # noqa: ANN001, F811
    book = JobBook(engine)
    yield book
    book.close()


@pytest.fixture
def incident(engine):  # noqa: ANN001, ANN201, F811
    return audit.create_incident(engine, playbook_id="social-media-mistake", playbook_version=1, inputs={},
                                 requester="ana", title="Offensive reply sent from @brand")
