"""The post queue as a state machine (Hypothesis): schedule, import, fire, freeze, thaw proposal,
apply with overrides, cancel, review, crash mid-publish, scheduler restart and clock jumps in any
order, on a real SQLite database. After every step: nothing published while a freeze covered it,
each post published at most once, every change of a post's state has exactly one audit event, and
the audit trail verifies."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from runbook import audit
from runbook.checks import Checker
from runbook.db import dispose_engines, init_db, make_engine
from runbook.ports.channel import Receipt
from runbook.queue import (
    NewPost,
    QueueError,
    apply_thaw,
    approve_post,
    cancel_post,
    fire_post,
    freeze_now,
    propose_thaw,
    schedule_posts,
)
from runbook.queue.fire import recover_interrupted
from runbook.queue.gate import covering_freeze
from runbook.queue.jobs import JobBook
from runbook.queue.ledger import ledger_incident
from runbook.queue.tables import freezes, posts
from runbook.queue.times import utcnow
from tests.reliability.hypo import TIMEOUT, machine_settings

ACCOUNTS = ["brand", "brand_nl"]
TEXTS = ["Autumn menu is here", "New store opening", "Why I stayed: pizza #WhyIStayed"]  # the last one blocks
_TEMPLATE: list[Path] = []


def _template() -> Path:
    """A migrated database file, copied for each example (migrations take far longer than a copy)."""
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="runbook-machine-")) / "template.db"
        init_db(make_engine(f"sqlite:///{path}"))
        dispose_engines()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


class Crash(BaseException):
    """The scheduler process dies mid-publish (not an Exception: fire_post must not catch it)."""


class Network:
    """A channel that records every publish call; it can fail, or crash the caller before or
    after the write reached the network."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.calls: dict[str, int] = {}  # idempotency key -> publish calls that wrote
        self.written: dict[str, Receipt] = {}
        self.mode = "ok"  # ok | error | crash_before | crash_after
        self.violations: list[str] = []

    def publish(self, *, account: str, platform: str, text: str, media: Any = None, key: str) -> Receipt:
        with self.engine.connect() as connection:
            cover = covering_freeze(connection, account)
            status = connection.execute(sa.select(posts.c.status).where(posts.c.id == key.split(":")[-1])).scalar()
        if cover is not None:
            self.violations.append(f"{key} published while freeze {cover} covers {account}")
        if status != "publishing":
            self.violations.append(f"{key} published from status {status}")
        mode, self.mode = self.mode, "ok"
        if mode == "error":
            raise RuntimeError("the network refused")
        if mode == "crash_before":
            raise Crash()
        if key in self.written:
            return Receipt(ref=self.written[key].ref, key=key, created=False)
        self.calls[key] = self.calls.get(key, 0) + 1
        self.written[key] = Receipt(ref=f"ref-{len(self.written)}", key=key, created=True, at=utcnow())
        if mode == "crash_after":
            raise Crash()
        return self.written[key]

    def find(self, key: str) -> Receipt | None:
        return self.written.get(key)


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="runbook-queue-machine-"))
        shutil.copy(_template(), self.dir / "q.db")
        self.engine = make_engine(f"sqlite:///{self.dir / 'q.db'}")
        self.checker = Checker(links=False)
        self.jobs = JobBook(self.engine)
        self.network = Network(self.engine)
        self.clock = utcnow()
        self.trail = ledger_incident(self.engine)
        self.state = self._snapshot()
        self.seen = 0  # ledger events already accounted for
        self.thaws: list[str] = []
        self.created: list[str] = []
        self.freezes: list[str] = []

    # -- helpers ---------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, tuple[str, str | None]]:
        with self.engine.connect() as connection:
            return {
                r.id: (r.status, r.freeze_id)
                for r in connection.execute(sa.select(posts.c.id, posts.c.status, posts.c.freeze_id))
            }

    def _ids(self, *statuses: str) -> list[str]:
        """Post ids in the order they were created (ids are random: sorting them would make the
        machine's choices differ between runs of the same example)."""
        now = self._snapshot()
        return [i for i in self.created if not statuses or now[i][0] in statuses]

    def _active(self) -> list[str]:
        return [f for f in self.freezes if self._freeze_status(f) == "active"]

    def _freeze_status(self, freeze_id: str) -> str:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(freezes.c.status).where(freezes.c.id == freeze_id)).scalar()

    def _new(self, n: int, account: int, minutes: int, text: int) -> list[NewPost]:
        return [
            NewPost(
                account=ACCOUNTS[(account + i) % 2],
                platform="x",
                text=f"{TEXTS[(text + i) % 3]} {i}",
                run_at=self.clock + timedelta(minutes=minutes + i),
                author="sam",
            )
            for i in range(n)
        ]

    # -- rules -------------------------------------------------------------------------------------
    @rule(account=st.integers(0, 1), minutes=st.integers(1, 600), text=st.integers(0, 2))
    def schedule(self, account: int, minutes: int, text: int) -> None:
        self._schedule(1, account, minutes, text)

    def _schedule(self, n: int, account: int, minutes: int, text: int) -> None:
        made = schedule_posts(
            self.engine,
            self._new(n, account, minutes, text),
            checker=self.checker,
            jobs=self.jobs,
            actor="sam",
            channel="cli",
            now=self.clock,
        )
        self.created += [p.id for p in made]

    @rule(n=st.integers(1, 4), account=st.integers(0, 1), minutes=st.integers(1, 600), text=st.integers(0, 2))
    def import_calendar(self, n: int, account: int, minutes: int, text: int) -> None:
        self._schedule(n, account, minutes, text)

    @precondition(lambda self: self._ids())
    @rule(pick=st.integers(0, 10_000), mode=st.sampled_from(["ok", "ok", "ok", "error", "crash_before", "crash_after"]))
    def fire(self, pick: int, mode: str) -> None:
        ids = self._ids()
        self.network.mode = mode
        try:
            fire_post(self.engine, ids[pick % len(ids)], channel=self.network, checker=self.checker)
        except Crash:
            pass  # the scheduler died; its post stays `publishing` until a restart recovers it
        finally:
            self.network.mode = "ok"

    @rule(scope=st.sampled_from(["all", "brand", "brand_nl"]))
    def freeze(self, scope: str) -> None:
        self.freezes.append(freeze_now(self.engine, incident_id=None, actor="ana", channel="cli", accounts=scope).id)

    @precondition(lambda self: self._active())
    @rule(pick=st.integers(0, 100))
    def propose(self, pick: int) -> None:
        active = self._active()
        plan = propose_thaw(
            self.engine, active[pick % len(active)], actor="ana", channel="cli", checker=self.checker, now=self.clock
        )
        self.thaws.append(plan.id)

    @precondition(lambda self: self.thaws)
    @rule(pick=st.integers(0, 100), overrides=st.lists(st.sampled_from(["release", "reschedule", "kill"]), max_size=6))
    def apply(self, pick: int, overrides: list[str]) -> None:
        from runbook.queue import get_thaw

        thaw = get_thaw(self.engine, self.thaws[pick % len(self.thaws)])
        chosen = {item.post.id: (action, None) for item, action in zip(thaw.items, overrides)}
        try:
            apply_thaw(
                self.engine, thaw.id, approver="bram", channel="cli", jobs=self.jobs, overrides=chosen, now=self.clock
            )
        except QueueError as exc:
            assert "superseded" in str(exc) or "became" in str(exc), exc

    @precondition(lambda self: self._ids())
    @rule(pick=st.integers(0, 10_000))
    def cancel(self, pick: int) -> None:
        ids = self._ids()
        try:
            cancel_post(self.engine, ids[pick % len(ids)], actor="ana", channel="cli", reason="no longer wanted")
        except QueueError as exc:
            assert "can be cancelled" in str(exc), exc

    @precondition(lambda self: self._ids("needs_review"))
    @rule(pick=st.integers(0, 100))
    def review(self, pick: int) -> None:
        ids = self._ids("needs_review")
        approve_post(self.engine, ids[pick % len(ids)], reviewer="bram", channel="cli", jobs=self.jobs, now=self.clock)

    @rule()
    def restart_scheduler(self) -> None:
        self.jobs.close()
        self.jobs = JobBook(self.engine)
        recover_interrupted(
            self.engine, channel=self.network, stale_after=timedelta(0), actor="system:scheduler", audit_channel="flow"
        )

    @rule(minutes=st.integers(-30, 24 * 60))
    def clock_jump(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

    # -- invariants --------------------------------------------------------------------------------
    @invariant()
    def nothing_published_while_frozen_and_at_most_once(self) -> None:
        assert self.network.violations == []
        assert all(n == 1 for n in self.network.calls.values()), self.network.calls

    @invariant()
    def every_state_change_has_exactly_one_audit_event(self) -> None:
        now = self._snapshot()
        events = audit.events(self.engine, self.trail)[self.seen :]
        self.seen += len(events)
        mentioned: dict[str, list[str]] = {}
        for event in events:
            d = event.details or {}
            for post_id in [d["post"]] if "post" in d else d.get("posts", []):
                mentioned.setdefault(post_id, []).append(event.action)
        changed = {i for i in now if self.state.get(i) != now[i]}
        for post_id in changed | set(mentioned):
            actions = mentioned.get(post_id, [])
            # A fire moves a post to publishing and on (published, failed) within one rule: two changes.
            changes = (post_id in changed) + ("post.publishing" in actions and now[post_id][0] != "publishing")
            assert len(actions) == changes, (post_id, self.state.get(post_id), now.get(post_id), actions)
        self.state = now

    def teardown(self) -> None:
        # The chain is append-only: verifying it once at the end covers every step.
        report = audit.verify(self.engine)
        assert report.ok, report.problems
        self.jobs.close()
        self.checker.close()
        dispose_engines()
        shutil.rmtree(self.dir, ignore_errors=True)


QueueMachine.TestCase.settings = machine_settings()
TestQueueMachine = QueueMachine.TestCase
pytestmark = TIMEOUT
