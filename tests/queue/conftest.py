"""Queue test fixtures: databases (tests/dbfixtures.py), a checker without network, a job
book, helpers to make posts and to wait for the queue to settle, and a slow recording channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from runbook import audit
from runbook.checks import Checker
from runbook.queue import NewPost, schedule_posts
from runbook.queue.jobs import JobBook
from runbook.queue.times import utcnow
from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401


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
    return audit.create_incident(
        engine,
        playbook_id="social-media-mistake",
        playbook_version=1,
        inputs={},
        requester="ana",
        title="Offensive reply sent from @brand",
    )


def make_posts(
    engine,
    checker,
    jobs,
    *,
    count: int,
    at: datetime,
    account: str = "brand",  # noqa: ANN001
    text: str = "Autumn menu post {i}",
    author: str = "sam",
) -> list[Any]:
    return schedule_posts(
        engine,
        [NewPost(account=account, platform="x", text=text.format(i=i), run_at=at, author=author) for i in range(count)],
        checker=checker,
        jobs=jobs,
        actor=author,
        channel="cli",
    )


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class SlowChannel:
    """Wraps a channel: each publish takes `delay` seconds, and calls are timed (monotonic)."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.calls: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()
        self.started = 0
        self.started_event = threading.Event()
        self.signal_after = 10

    def publish(self, **kwargs: Any):  # noqa: ANN201
        begin = time.monotonic()
        with self.lock:
            self.started += 1
            if self.started >= self.signal_after:
                self.started_event.set()
        time.sleep(self.delay)
        receipt = self.inner.publish(**kwargs)
        with self.lock:
            self.calls[kwargs["key"]] = (begin, time.monotonic())
        return receipt

    def find(self, key: str):  # noqa: ANN201
        return self.inner.find(key)


def soon(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
