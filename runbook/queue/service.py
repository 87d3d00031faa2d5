"""The long-running scheduler: APScheduler over our job table, plus the sweeps that make it safe to
kill and restart at any moment.

On start (and every `sweep_seconds`): posts stuck in `publishing` are settled from the channel's
record; `scheduled` posts whose job vanished (APScheduler deletes a date job when it submits it,
so a crash between submit and run loses it) get their job back, or are held for review when
their time passed beyond the grace. A poll job wakes the loop every `poll_seconds`, so jobs other
processes write to the table are picked up without `wakeup()` across processes.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from sqlalchemy.engine import Engine

from runbook.checks import Checker
from runbook.ports.channel import Channel
from runbook.queue import fire
from runbook.queue.fire import Runtime, mark_missed, recover_interrupted
from runbook.queue.jobs import DEFAULT_GRACE_SECONDS, JobBook, new_scheduler
from runbook.queue.model import SCHEDULED
from runbook.queue.tables import jobs as jobs_table
from runbook.queue.tables import posts
from runbook.queue.times import utcnow

log = logging.getLogger(__name__)


class QueueScheduler:
    """`channel` is where due posts publish: the entry point passes the one configuration chose
    (the channels file's accounts, else the sandbox), so the queue never picks a network itself."""

    def __init__(
        self,
        engine: Engine,
        *,
        channel: Channel,
        checker: Checker | None = None,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
        poll_seconds: float = 1.0,
        sweep_seconds: float = 30.0,
        workers: int = 8,
        stale_after: timedelta = timedelta(minutes=2),
        actor: str = "system:scheduler",
        audit_channel: str = "flow",
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.checker = checker or Checker()
        self.grace = timedelta(seconds=grace_seconds)
        self.poll_seconds = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.stale_after = stale_after
        self.actor = actor
        self.audit_channel = audit_channel
        self.scheduler = new_scheduler(engine, workers=workers)
        self.jobs = JobBook(engine, grace_seconds=grace_seconds, scheduler=self.scheduler)
        self.jobs.store.grace_seconds = grace_seconds  # applies to every job, whoever wrote it
        self._sweep_lock = threading.Lock()

    def start(self) -> dict[str, Any]:
        # The service's own attributes handed to the scheduler's jobs, by name: one Runtime, built once here.
        fire.configure(
            Runtime(
                engine=self.engine,
                channel=self.channel,
                checker=self.checker,
                actor=self.actor,
                audit_channel=self.audit_channel,
            )
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        self.scheduler.start(paused=True)
        report = self.sweep()  # before any job runs: settle what the last process left behind
        self.scheduler.add_job(
            _noop, "interval", seconds=self.poll_seconds, id="poll", jobstore="internal", coalesce=True, max_instances=1
        )
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id="sweep",
            jobstore="internal",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.resume()
        return report

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        fire.configure(None)

    def sweep(self) -> dict[str, Any]:
        with self._sweep_lock:
            recovered = recover_interrupted(
                self.engine,
                channel=self.channel,
                stale_after=self.stale_after,
                actor=self.actor,
                audit_channel=self.audit_channel,
            )
            now = utcnow()
            query = (
                sa.select(posts.c.id, posts.c.run_at)
                .select_from(posts.outerjoin(jobs_table, jobs_table.c.id == posts.c.id))
                .where(posts.c.status == SCHEDULED, jobs_table.c.id.is_(None))
            )
            with self.engine.connect() as connection:
                orphans = connection.execute(query).all()
            overdue = [r.id for r in orphans if r.run_at + self.grace < now]
            readd = [(r.id, r.run_at) for r in orphans if r.run_at + self.grace >= now]
            for post_id in overdue:
                mark_missed(
                    self.engine,
                    post_id,
                    run_time=next(r.run_at for r in orphans if r.id == post_id),
                    actor=self.actor,
                    audit_channel=self.audit_channel,
                )
            if readd:
                self.jobs.put(None, readd)
        report = {"recovered": recovered, "jobs_restored": [p for p, _ in readd], "overdue_held": overdue}
        if readd or overdue or any(recovered.values()):
            log.info("queue sweep: %s", report)
        return report

    def _on_event(self, event: Any) -> None:
        if event.jobstore != "default":
            return
        if event.code == EVENT_JOB_MISSED:
            run_time = event.scheduled_run_time
            mark_missed(
                self.engine,
                event.job_id,
                run_time=run_time.astimezone(UTC) if run_time else None,
                actor=self.actor,
                audit_channel=self.audit_channel,
            )
        elif event.code == EVENT_JOB_ERROR:
            log.error("post job %s raised: %s", event.job_id, event.exception)

    def run_forever(self, stop: threading.Event) -> None:
        self.start()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.shutdown()


def _noop() -> None:
    """The poll job: its only effect is that the scheduler loop wakes and reads the job table."""
