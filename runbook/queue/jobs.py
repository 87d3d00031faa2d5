"""APScheduler 3.x plumbing: one date job per post in our database's `apscheduler_jobs` table.

The job only says "look at post X at time T"; whether X publishes is decided by its status in
`queue_post` (see runbook.queue.fire). Writes can join the caller's transaction, so a post and
its job are committed together and thousands of jobs cost one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.engine import Connection, Engine

FIRE_FUNC = "runbook.queue.fire:fire_job"
DEFAULT_GRACE_SECONDS = 300
TABLE = "apscheduler_jobs"


class PostJobStore(SQLAlchemyJobStore):
    """SQLAlchemyJobStore on our engine, with two changes:

    - inside `joining(connection)` writes go through the caller's connection (its transaction);
    - removing a job that is already gone is not an error: the scheduler removes a date job right
      after submitting it, and another process (or a second scheduler) may have removed it first,
      which in stock APScheduler raises inside the scheduler loop and kills its thread.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine=engine, tablename=TABLE)
        self._joined = threading.local()
        # The running scheduler's --grace, for every job it loads: a job written by the CLI or a
        # flow carries the grace of the process that wrote it, which is not the operator's choice.
        self.grace_seconds: int | None = None

    def _reconstitute_job(self, job_state):  # noqa: ANN001, ANN202
        job = super()._reconstitute_job(job_state)
        if self.grace_seconds is not None:
            job.misfire_grace_time = self.grace_seconds
        return job

    @contextmanager
    def joining(self, connection: Connection) -> Iterator[None]:
        previous = getattr(self._joined, "connection", None)
        self._joined.connection = connection
        try:
            yield
        finally:
            self._joined.connection = previous

    def add_job(self, job) -> None:  # noqa: ANN001
        connection = getattr(self._joined, "connection", None)
        if connection is None:
            return super().add_job(job)
        # Upsert in the caller's transaction: an IntegrityError would abort it on PostgreSQL.
        connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id == job.id))
        connection.execute(self.jobs_t.insert().values(**_job_row(job, self.pickle_protocol)))

    def update_job(self, job) -> None:  # noqa: ANN001
        connection = getattr(self._joined, "connection", None)
        if connection is None:
            return super().update_job(job)
        self.add_job(job)

    def remove_job(self, job_id: str) -> None:
        delete = self.jobs_t.delete().where(self.jobs_t.c.id == job_id)
        connection = getattr(self._joined, "connection", None)
        if connection is not None:
            connection.execute(delete)
            return
        with self.engine.begin() as conn:
            conn.execute(delete)

    def shutdown(self) -> None:
        # The engine is the process-wide one from runbook.db; disposing it is not ours to do.
        pass


def _job_row(job, protocol: int) -> dict:  # noqa: ANN001
    import pickle

    from apscheduler.util import datetime_to_utc_timestamp

    return {
        "id": job.id,
        "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
        "job_state": pickle.dumps(job.__getstate__(), protocol),
    }


class _Scheduler(BackgroundScheduler):
    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        # The loop removes each date job after submitting it; if shutdown() flipped the state
        # to stopped meanwhile, stock APScheduler looks among pending jobs, raises, and the
        # exception ends the scheduler thread. A job that is already gone needs no removing.
        try:
            super().remove_job(job_id, jobstore)
        except JobLookupError:
            pass


def new_scheduler(engine: Engine, *, workers: int = 8) -> BackgroundScheduler:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore

    return _Scheduler(
        jobstores={"default": PostJobStore(engine), "internal": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        timezone=UTC,
    )


class JobBook:
    """Adds post jobs. Around a running scheduler (the scheduler process) or, in any other
    process, around a paused one that only writes to the table; the running scheduler finds
    the rows at its next poll."""

    def __init__(
        self,
        engine: Engine,
        *,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
        scheduler: BackgroundScheduler | None = None,
    ) -> None:
        self.engine = engine
        self.grace_seconds = grace_seconds
        self._owned = scheduler is None
        self._scheduler = scheduler
        self._lock = threading.Lock()

    @property
    def scheduler(self) -> BackgroundScheduler:
        with self._lock:
            if self._scheduler is None:
                scheduler = new_scheduler(self.engine, workers=1)
                scheduler.start(paused=True)  # job store usable, nothing is ever run here
                self._scheduler = scheduler
            return self._scheduler

    @property
    def store(self) -> PostJobStore:
        return self.scheduler._lookup_jobstore("default")  # noqa: SLF001 - our own store instance

    def put(self, connection: Connection | None, entries: Iterable[tuple[str, datetime]]) -> int:
        """Add (or replace) the job of each (post id, run at), in `connection`'s transaction.

        Jobs are built and written without the scheduler's job-store lock: a running scheduler's
        loop holds that lock while it writes, and on SQLite it would then wait for the write
        lock our transaction holds (a deadlock until the busy timeout).
        """
        entries = list(entries)
        if not entries:
            return 0
        scheduler = self.scheduler
        if connection is None:
            for post_id, run_at in entries:
                scheduler.add_job(FIRE_FUNC, **self._job_kwargs(post_id, run_at), replace_existing=True)
            return len(entries)
        store = self.store
        with store.joining(connection):
            for post_id, run_at in entries:
                store.add_job(Job(scheduler, **self._job_kwargs(post_id, run_at), func=FIRE_FUNC, executor="default"))
        return len(entries)

    def wakeup(self) -> None:
        """Make a running scheduler look at the table now (call after the transaction commits)."""
        if not self._owned and self._scheduler is not None:
            self._scheduler.wakeup()

    def _job_kwargs(self, post_id: str, run_at: datetime) -> dict:
        trigger = DateTrigger(run_date=run_at, timezone=UTC)
        return {
            "trigger": trigger,
            "args": (post_id,),
            "kwargs": {},
            "id": post_id,
            "name": f"post {post_id}",
            "misfire_grace_time": self.grace_seconds,
            "coalesce": True,
            "max_instances": 1,
            "next_run_time": trigger.run_date,
        }

    def close(self) -> None:
        with self._lock:
            if self._owned and self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None
