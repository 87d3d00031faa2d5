"""Audit before effect in the engine: the start and the launch of an incident, its close and every
sign-off status change commit in one transaction with their audit events (and a step's console
messages with the step's end). A fault injected inside that transaction (a
database trigger raising after the status update, or at the audit insert) leaves neither the
change nor its event, and the chain still verifies. On SQLite and on PostgreSQL.

The engine tasks' bodies run here outside Prefect (`task.fn`): what is tested is their database
work, which needs no flow run; the real flows are covered by test_flow.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from runbook.audit import checkpoints, events, get_incident, list_incidents, verify
from runbook.db import init_db, make_engine
from runbook.engine import commands
from runbook.engine.context import Run, enter, leave
from runbook.engine.execute import execute_step
from runbook.engine.record import Entry
from runbook.engine.runlog import LoggingRecorder
from runbook.engine.runner import close
from runbook.engine.services import build_services
from runbook.engine.signoff import open_gate, record_verdict
from runbook.settings import Settings
from runbook.steps.base import Outputs, Params, StepContext, StepKind
from tests.dbfixtures import db_url, pg_url, sqlite_url  # noqa: F401
from tests.engine.conftest import settings_env

FAULT = "injected fault"


@pytest.fixture
def services(db_url: str, tmp_path: Path):  # noqa: F811
    init_db(make_engine(db_url))
    env = {**settings_env(tmp_path), "RUNBOOK_DATABASE_URL": db_url}
    return build_services(Settings(**{k.removeprefix("RUNBOOK_").lower(): v for k, v in env.items()}), migrate=True)


@contextmanager
def fault(db: sa.Engine, *, table: str, when: str, timing: str = "AFTER", op: str = "UPDATE") -> Iterator[None]:
    """A trigger that raises inside the writing transaction when a row of `table` matches `when`
    (SQL over NEW). AFTER UPDATE on the incident: the status change is made, then the fault."""
    if db.dialect.name == "sqlite":
        ddl = [
            f"CREATE TRIGGER test_fault {timing} {op} ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, '{FAULT}'); END"
        ]
        drop = ["DROP TRIGGER test_fault"]
    else:
        ddl = [
            f"CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{FAULT}'; END $$",
            f"CREATE TRIGGER test_fault {timing} {op} ON {table} FOR EACH ROW WHEN ({when}) "
            f"EXECUTE FUNCTION test_fault()",
        ]
        drop = [f"DROP TRIGGER test_fault ON {table}", "DROP FUNCTION test_fault()"]
    with db.begin() as connection:
        for sql in ddl:
            connection.execute(sa.text(sql))
    try:
        yield
    finally:
        with db.begin() as connection:
            for sql in drop:
                connection.execute(sa.text(sql))


def at_status(status: str) -> dict[str, str]:
    return {"table": "incident", "when": f"NEW.status = '{status}'"}


def at_event(action: str) -> dict[str, str]:
    return {"table": "audit_event", "when": f"NEW.action = '{action}'", "timing": "BEFORE", "op": "INSERT"}


@contextmanager
def running(services, playbook: str, inputs: dict) -> Iterator[Run]:
    """An incident started (no flow run) and its Run entered, as the flow's tasks find it."""
    started = commands.start(services=services, playbook_ref=playbook, inputs=inputs, requester="ron", create_run=False)
    incident = started.incident
    run = Run(
        services=services,
        incident=incident,
        plan=started.plan,
        chat=services.chat(incident.id),
        record=LoggingRecorder(db=services.db, incident_id=incident.id),
    )
    token = enter(run)
    try:
        yield run
    finally:
        leave(token)


def actions(services, run: Run) -> list[str]:
    return [e.action for e in events(services.db, run.incident.id) if e.action != "chat.posted"]


def chat_keys(services, run: Run) -> list[str]:
    return [e.details["key"] for e in events(services.db, run.incident.id) if e.action == "chat.posted"]


def assert_verifies(services, run: Run) -> None:
    report = verify(services.db, run.incident.id)
    assert report.ok, report


@pytest.mark.parametrize("where", ["status", "audit"])
def test_a_fault_in_the_close_leaves_neither_the_close_nor_its_event(services, where):
    with running(services, "t-gate", {"summary": "close"}) as run:
        before = actions(services, run)
        spot = at_status("completed") if where == "status" else at_event("incident.completed")
        with fault(services.db, **spot), pytest.raises(Exception, match=FAULT):
            close.fn(once="close", status="completed", outcome="completed", reason="", step_id=None)
        assert get_incident(services.db, run.incident.id).status == "open"
        assert actions(services, run) == before
        assert not any(k.endswith(":closed") for k in chat_keys(services, run))  # nor the room told
        assert_verifies(services, run)

        # The rerun (the task had no result) closes it, with its event, checkpointed, once.
        assert close.fn(once="close", status="completed", outcome="completed", reason="", step_id=None) == {
            "status": "completed",
            "outcome": "completed",
        }
        close.fn(once="close", status="completed", outcome="completed", reason="", step_id=None)
        trail = events(services.db, run.incident.id)
        assert get_incident(services.db, run.incident.id).status == "completed"
        assert actions(services, run) == before + ["incident.completed"]
        completed = next(e for e in trail if e.action == "incident.completed")
        mark = checkpoints(services.db, run.incident.id)[-1]
        assert (mark.reason, mark.seq) == ("incident completed", completed.seq)
        assert chat_keys(services, run).count(f"{run.incident.id}:closed") == 1
        assert_verifies(services, run)


def test_a_fault_at_the_request_leaves_no_request_no_waiting_and_asks_nobody(services):
    with running(services, "t-gate", {"summary": "gate"}) as run:
        before = actions(services, run)
        with fault(services.db, **at_status("waiting")), pytest.raises(Exception, match=FAULT):
            open_gate.fn(once="go-ahead-open-0", step_id="go-ahead", phase=0, tally={})
        assert get_incident(services.db, run.incident.id).status == "open"
        assert actions(services, run) == before
        assert not any(":signoff:" in k for k in chat_keys(services, run))  # the intent failed: no effect
        assert_verifies(services, run)

        request = open_gate.fn(once="go-ahead-open-0", step_id="go-ahead", phase=0, tally={})
        assert get_incident(services.db, run.incident.id).status == "waiting"
        assert actions(services, run) == before + ["signoff.requested"]
        assert request["prompt"] == "Go ahead with gate?"
        assert_verifies(services, run)


@pytest.mark.parametrize("where", ["status", "grant", "checkpoint"])
def test_a_fault_at_the_grant_leaves_neither_the_decision_nor_running(services, where):
    with running(services, "t-gate", {"summary": "verdict"}) as run:
        request = open_gate.fn(once="go-ahead-open-0", step_id="go-ahead", phase=0, tally={})
        before = actions(services, run)
        ballot = {
            "approve": True,
            "person": "alma",
            "channel": "prefect-ui",
            "comment": "",
            "escalate": False,
            "decision_id": "d1",
            "fields": {"choice": "proceed"},
        }
        args = {
            "once": "go-ahead-verdict-0",
            "step_id": "go-ahead",
            "wait": "w0",
            "ballot": ballot,
            "tally": {},
            "request": request,
        }
        spot = {
            "status": at_status("running"),
            "grant": at_event("signoff.granted"),
            "checkpoint": {
                "table": "audit_checkpoint",
                "when": "NEW.reason LIKE 'sign-off%'",
                "timing": "BEFORE",
                "op": "INSERT",
            },
        }[where]
        with fault(services.db, **spot), pytest.raises(Exception, match=FAULT):
            record_verdict.fn(**args)
        assert get_incident(services.db, run.incident.id).status == "waiting"
        assert actions(services, run) == before
        assert not any(k.endswith(":checkpoint") for k in chat_keys(services, run))
        assert_verifies(services, run)

        assert record_verdict.fn(**args)["outcome"] == "granted"
        assert get_incident(services.db, run.incident.id).status == "running"
        assert actions(services, run) == before + ["signoff.approved", "signoff.granted"]
        granted = events(services.db, run.incident.id)[-2]  # the chat's "checkpoint" message follows
        assert granted.action == "signoff.granted"
        mark = checkpoints(services.db, run.incident.id)[-1]
        assert (mark.reason, mark.seq) == ("sign-off go-ahead: granted", granted.seq)
        assert_verifies(services, run)


def test_a_refused_decision_changes_no_status(services):
    with running(services, "t-gate", {"summary": "refused"}) as run:
        request = open_gate.fn(once="go-ahead-open-0", step_id="go-ahead", phase=0, tally={})
        ballot = {
            "approve": True,
            "person": "sid",
            "channel": "prefect-ui",
            "comment": "",
            "escalate": False,
            "decision_id": "d2",
            "fields": {"choice": "proceed"},
        }
        result = record_verdict.fn(
            once="go-ahead-verdict-0", step_id="go-ahead", wait="w0", ballot=ballot, tally={}, request=request
        )
        assert result["outcome"] == "refused"
        assert get_incident(services.db, run.incident.id).status == "waiting"
        assert actions(services, run)[-2:] == ["signoff.requested", "signoff.refused"]
        assert_verifies(services, run)


def test_commit_appends_all_or_nothing_and_once(services):
    with running(services, "t-gate", {"summary": "commit"}) as run:
        entries = [Entry("test.first", {"n": 1}, once="first"), Entry("test.second", {"n": 2}, once="second")]
        before = actions(services, run)
        with fault(services.db, **at_event("test.second")), pytest.raises(Exception, match=FAULT):
            run.record.commit(entries, status="running", checkpoint="test")
        assert actions(services, run) == before
        assert get_incident(services.db, run.incident.id).status == "open"

        done = run.record.commit(entries, status="running", checkpoint="test")
        assert done.fresh and [e.action for e in done.events] == ["test.first", "test.second"]
        assert done.checkpoint is not None and done.checkpoint.seq == done.events[-1].seq
        # Once committed, the same change is found, not made again (another process reads it too).
        again = LoggingRecorder(db=services.db, incident_id=run.incident.id).commit(entries, status="failed")
        assert not again.fresh and [e.seq for e in again.events] == [e.seq for e in done.events]
        assert get_incident(services.db, run.incident.id).status == "running"
        assert actions(services, run) == before + ["test.first", "test.second"]
        assert_verifies(services, run)


def started_titled(services, title: str) -> list:
    return [i for i in list_incidents(services.db) if i.title == title]


def test_a_fault_at_incident_started_leaves_no_incident(services):
    start = {"services": services, "playbook_ref": "t-gate", "requester": "ron", "create_run": False}
    with fault(services.db, **at_event("incident.started")), pytest.raises(Exception, match=FAULT):
        commands.start(**start, inputs={"summary": "stranded"})
    assert started_titled(services, "stranded") == []  # no incident without the record of its start
    # An event the audit refuses (an unknown channel) refuses the incident too.
    with pytest.raises(ValueError, match="channel must be one of"):
        commands.start(**start, inputs={"summary": "stranded"}, via="carrier-pigeon")
    assert started_titled(services, "stranded") == []

    started = commands.start(**start, inputs={"summary": "stranded"})
    assert [i.id for i in started_titled(services, "stranded")] == [started.incident.id]
    trail = events(services.db, started.incident.id)
    assert [e.action for e in trail] == ["incident.started"]
    assert (trail[0].actor, trail[0].channel, trail[0].details["once"]) == ("ron", "cli", "incident.started")
    assert commands.recorded_plan(services=services, incident=started.incident) == started.plan
    assert verify(services.db, started.incident.id).ok


def test_a_fault_at_flow_launched_leaves_the_incident_without_its_flow_run(services):
    # `launch` creates the flow run in Prefect (test_flow.py), then records it with record_launch.
    with running(services, "t-gate", {"summary": "launch"}) as run:
        flow_run_id = str(uuid4())
        before = actions(services, run)
        with fault(services.db, **at_event("flow.launched")), pytest.raises(Exception, match=FAULT):
            commands.record_launch(services=services, incident=run.incident, flow_run_id=flow_run_id)
        assert get_incident(services.db, run.incident.id).flow_run_id is None
        assert actions(services, run) == before

        commands.record_launch(services=services, incident=run.incident, flow_run_id=flow_run_id)
        launched = get_incident(services.db, run.incident.id)
        assert launched.flow_run_id == flow_run_id
        assert actions(services, run) == before + ["flow.launched"]
        assert events(services.db, run.incident.id)[-1].details["flow_run_id"] == flow_run_id
        # Launching again finds the same (idempotent) flow run already recorded: no second event.
        commands.record_launch(services=services, incident=launched, flow_run_id=flow_run_id)
        assert actions(services, run) == before + ["flow.launched"]
        assert_verifies(services, run)


def console_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("[chat")]


def test_a_steps_console_message_commits_with_its_end_and_prints_once(services, capsys):
    with running(services, "t-gate", {"summary": "chat"}) as run:
        step = run.plan.step("hello")
        capsys.readouterr()
        # A step's message is recorded just before its end, in the same write transaction: two
        # commits for the step (its start; its message and end), not one more per message.
        commits: list[object] = []
        count = commits.append  # one bound method: `remove` needs the very listener given to `listen`
        sa.event.listen(services.db, "commit", count)
        try:
            execute_step(run, step.model_copy(update={"id": "greeting"}), decision=None)
        finally:
            sa.event.remove(services.db, "commit", count)
        assert len(commits) == 2
        posted, finished = events(services.db, run.incident.id)[-2:]
        assert (posted.action, finished.action, finished.seq) == ("chat.posted", "step.finished", posted.seq + 1)
        keys = chat_keys(services, run)
        capsys.readouterr()
        with fault(services.db, **at_event("step.finished")), pytest.raises(Exception, match=FAULT):
            execute_step(run, step, decision=None)
        assert len(console_lines(capsys)) == 1
        # The message was to be recorded with step.finished; that failed, so it is recorded alone.
        trail = events(services.db, run.incident.id)
        assert [e.action for e in trail[-2:]] == ["step.started", "chat.posted"]
        posted = trail[-1]
        assert chat_keys(services, run) == keys + [posted.details["key"]]

        # The task's retry in the same process: printed and recorded already, so neither again.
        outputs = execute_step(run, step, decision=None, attempt=2)
        assert console_lines(capsys) == []
        trail = events(services.db, run.incident.id)
        assert [e.action for e in trail[-3:]] == ["chat.posted", "step.started", "step.finished"]
        assert trail[-1].details["outputs"] == outputs
        assert chat_keys(services, run) == keys + [posted.details["key"]]
        # A rerun after that (another process included) finds the step finished: no message at all.
        execute_step(run, step, decision=None)
        assert console_lines(capsys) == [] and len(events(services.db, run.incident.id)) == len(trail)
        assert_verifies(services, run)


class _Message(Params):
    message: str


def _posts_then_fails_once(ctx: StepContext, params: _Message) -> Outputs:
    ctx.chat.post(ctx.channel, params.message, key=ctx.key("message"))
    if not any(e.action == "step.attempt_failed" for e in events(ctx.services.db, ctx.incident_id)):
        raise RuntimeError("failed after its message")
    return Outputs()


def test_a_failed_attempt_keeps_its_message_record_and_the_retry_posts_nothing_again(services, capsys):
    kind = StepKind(name="posts_then_fails_once", params=_Message, outputs=Outputs, run=_posts_then_fails_once)
    with running(services, "t-gate", {"summary": "retry"}) as run:
        run.services = replace(services, kinds={**services.kinds, kind.name: kind})
        step = run.plan.step("hello").model_copy(update={"uses": kind.name, "retries": 1})
        capsys.readouterr()
        with pytest.raises(RuntimeError, match="failed after its message"):
            execute_step(run, step, decision=None, last_attempt=False)
        trail = events(services.db, run.incident.id)
        assert [e.action for e in trail[-3:]] == ["step.started", "chat.posted", "step.attempt_failed"]
        assert trail[-2].seq + 1 == trail[-1].seq

        execute_step(run, step, decision=None, attempt=2)
        assert len(console_lines(capsys)) == 1
        assert chat_keys(services, run).count(f"{run.incident.id}:hello:message") == 1
        assert actions(services, run)[-3:] == ["step.attempt_failed", "step.started", "step.finished"]
        assert_verifies(services, run)
