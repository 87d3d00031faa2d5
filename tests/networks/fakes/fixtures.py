"""Fixtures of the remote-queue and X/Meta tests (imported by those test modules, so this
branch adds no conftest that another branch's tests/networks/conftest.py would collide with)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401
from tests.networks.fakes.buffer_api import FakeBuffer
from tests.queue.conftest import checker, incident, jobs  # noqa: F401  (the queue tests' own fixtures)

BUFFER_TOKEN = "buf-SECRET-7f3a9c"  # a test secret: the tests grep outputs for it


@pytest.fixture
def fake_buffer() -> Iterator[FakeBuffer]:
    with FakeBuffer(token=BUFFER_TOKEN) as fake:
        yield fake
