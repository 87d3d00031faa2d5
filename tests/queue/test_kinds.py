"""The freeze_posts and thaw_posts kinds over a real database: immediate freeze confirmed by the
flow's step, thaw proposed then applied with the approver's per-post changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runbook import audit
from runbook.queue import get_post, list_posts
from runbook.sandbox import SandboxChannel
from runbook.steps.base import StepContext, StepServices
from runbook.steps.freeze_posts import KIND as FREEZE
from runbook.steps.thaw_posts import KIND as THAW
from tests.queue.conftest import make_posts, soon


def _ctx(engine, incident, step_id: str, decision=None) -> StepContext:  # noqa: ANN001
    def record(action: str, details=None) -> None:  # noqa: ANN001
        audit.append(
            engine,
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action=action,
            step=step_id,
            details=dict(details or {}),
        )

    return StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester="ana",
        step_id=step_id,
        inputs={},
        steps={},
        audit=record,
        decision=decision,
        services=StepServices(db=engine, channel=SandboxChannel(engine)),
    )


def test_the_kinds_declare_what_the_engine_needs() -> None:
    assert FREEZE.immediate and FREEZE.side_effects and FREEZE.signoff_at == "after"
    assert THAW.signoff_at == "after" and THAW.side_effects and not THAW.immediate
    assert set(THAW.gate_fields(THAW.params())) == {"actions"}
    assert FREEZE.params.model_validate({"accounts": "brand, brand_nl"}).accounts == ["brand", "brand_nl"]


def test_kind_modules_import_neither_prefect_nor_apscheduler() -> None:
    code = (
        "import sys, runbook.steps.freeze_posts, runbook.steps.thaw_posts, runbook.steps.registry as r; r.load_kinds();"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('prefect', 'apscheduler')]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stdout + done.stderr


def test_freeze_then_thaw_through_the_kinds(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    posts = make_posts(engine, checker, jobs, count=3, at=soon(3600))
    first = FREEZE.run(_ctx(engine, incident, "freeze"), FREEZE.params(accounts=["all"], reason="offensive reply"))
    again = FREEZE.run(_ctx(engine, incident, "freeze"), FREEZE.params(accounts=["all"]))  # the flow confirms
    assert first.created and not again.created and again.freeze_id == first.freeze_id and first.frozen == 3
    actions = [e.action for e in audit.events(engine, incident.id)]
    assert actions.count("freeze.created") == 1 and "freeze.confirmed" in actions

    proposal = THAW.run(_ctx(engine, incident, "thaw"), THAW.params())
    assert proposal.phase == "proposed" and proposal.counts == {"release": 3}
    assert sorted(proposal.actions.splitlines()) == sorted(f"{p.id}=release" for p in posts)
    rerun = THAW.run(_ctx(engine, incident, "thaw"), THAW.params())  # a rerun step finds its proposal
    assert rerun.thaw_id == proposal.thaw_id
    assert {p.status for p in list_posts(engine)} == {"frozen"}

    decision = {"approve": True, "person": "bram", "channel": "slack", "actions": f"{posts[0].id}=kill"}
    applied = THAW.run(_ctx(engine, incident, "thaw", decision), THAW.params())
    assert applied.phase == "applied" and applied.counts == {"killed": 1, "released": 2}
    assert get_post(engine, posts[0].id).status == "killed"
    thaw_event = [e for e in audit.events(engine, incident.id) if e.action == "thaw.applied"][0]
    assert thaw_event.actor == "bram" and thaw_event.channel == "slack" and thaw_event.step == "thaw"


def test_thaw_refuses_bad_approver_lines(engine, checker, jobs, incident) -> None:  # noqa: ANN001
    from runbook.queue import QueueError

    make_posts(engine, checker, jobs, count=1, at=soon(3600))
    FREEZE.run(_ctx(engine, incident, "freeze"), FREEZE.params())
    with pytest.raises(QueueError, match="line 1"):
        THAW.run(_ctx(engine, incident, "thaw", {"person": "bram", "actions": "whatever"}), THAW.params())
