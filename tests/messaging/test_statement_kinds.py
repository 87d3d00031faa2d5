"""draft_statement and publish over a real database and the sandbox network: variants per platform,
an approver's edit checked again (a blocked edit is never approved nor published), publishing once
per platform through the freeze, recorded as the one exception."""

from __future__ import annotations

import pytest

from runbook import audit
from runbook.messaging.errors import StatementBlocked
from runbook.queue import freeze_now
from runbook.sandbox import SandboxChannel
from runbook.steps.draft_statement import KIND as DRAFT
from runbook.steps.draft_statement import check_decision
from runbook.steps.publish import KIND as PUBLISH
from runbook.steps.publish import NotApproved
from tests.messaging.conftest import actions, step_context, step_services

PARAMS = {"template": "statements/hashtag-misuse.en.j2", "platforms": ["x", "facebook"]}
BLAME = "We are sorry. A glitch in our scheduling tool posted the joke. We have deleted the post. You deserve respect."


def _draft(engine, incident, brand, checker):  # noqa: ANN001, ANN202
    params = DRAFT.params.model_validate(PARAMS)
    out = DRAFT.run(step_context(engine, incident, "statement", brand=brand, checker=checker), params)
    return params, out


def test_kinds_declare_gates_and_stay_free_of_prefect() -> None:
    import subprocess
    import sys

    assert DRAFT.signoff_at == "after" and not DRAFT.side_effects
    assert set(DRAFT.gate_fields(DRAFT.params.model_validate(PARAMS))) == {"text", "text_x", "text_facebook"}
    assert PUBLISH.side_effects and PUBLISH.signoff_at == "before"
    code = (
        "import sys, runbook.steps.registry as r; k = r.load_kinds(); "
        "assert {'draft_statement', 'publish', 'reply_individually'} <= set(k); "
        "import runbook.messaging.reply_run, runbook.messaging.publication; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'prefect']; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_draft_has_a_variant_per_platform_checked_and_shown(engine, incident, brand, checker) -> None:  # noqa: ANN001
    _, out = _draft(engine, incident, brand, checker)
    assert out.phase == "drafted" and out.awaiting_review and not out.blocked
    assert set(out.variants) == {"x", "facebook"}
    assert out.variants["x"]["chars"] <= 280 < out.variants["facebook"]["chars"]
    assert out.variants["x"]["account"] == "DiGiorno"
    assert "WhyIStayed hashtag" in out.text and "--- x (DiGiorno)" in out.review and "--- facebook" in out.review
    assert actions(engine, incident, "statement") == ["statement.drafted", "statement.checked"]


def test_an_edit_that_blames_a_glitch_is_caught_before_approval(engine, incident, brand, checker) -> None:  # noqa: ANN001
    params, shown = _draft(engine, incident, brand, checker)
    # What the engine asks before counting an approval (StepKind.check_decision, see docs/statements.md):
    assert check_decision(params, shown.model_dump(), {"text_x": BLAME}, step_services(engine, brand=brand)) == [
        "x: doctrine.blame"
    ]
    assert check_decision(params, shown.model_dump(), {}, step_services(engine, brand=brand)) == []
    # And when the engine re-runs the kind with the decision: not approved, the gate must reopen.
    steps = {"statement": {"outputs": shown.model_dump()}}
    decision = {"text_x": BLAME, "approvers": ["lena", "bram"], "person": "bram"}
    out = DRAFT.run(
        step_context(engine, incident, "statement", steps=steps, decision=decision, brand=brand, checker=checker),
        params,
    )
    assert out.phase == "edit_blocked" and out.awaiting_review and out.approved_by == []
    assert out.blocking == ["x: doctrine.blame"] and "BLOCKS" in out.review
    assert "statement.approved" not in actions(engine, incident)
    # Even if an engine merged the edit into the outputs and granted the gate, publish refuses it.
    audit.append(
        engine,
        incident_id=incident.id,
        actor="bram",
        channel="cli",
        action="signoff.granted",
        step="statement",
        details={"approvers": ["lena", "bram"]},
    )
    merged = {**shown.model_dump(), "text_x": BLAME}
    with pytest.raises(StatementBlocked, match="x: doctrine.blame"):
        PUBLISH.run(
            step_context(
                engine, incident, "publish", steps={"statement": {"outputs": merged}}, brand=brand, checker=checker
            ),
            PUBLISH.params(),
        )
    assert SandboxChannel(engine).posts() == [] and "statement.refused" in actions(engine, incident, "publish")


def test_publish_refuses_a_statement_nobody_signed(engine, incident, brand, checker) -> None:  # noqa: ANN001
    _, shown = _draft(engine, incident, brand, checker)
    with pytest.raises(NotApproved, match="no granted sign-off"):
        PUBLISH.run(
            step_context(
                engine,
                incident,
                "publish",
                steps={"statement": {"outputs": shown.model_dump()}},
                brand=brand,
                checker=checker,
            ),
            PUBLISH.params(),
        )


def test_approved_statement_is_published_once_through_the_freeze(engine, incident, brand, checker) -> None:  # noqa: ANN001
    freeze = freeze_now(engine, incident_id=incident.id, actor="ana", channel="cli", reason="pizza joke")
    params, shown = _draft(engine, incident, brand, checker)
    edit = shown.variants["facebook"]["text"].replace("We are listening", "We are listening to every one of you")
    decision = {"text_facebook": edit, "approvers": ["lena", "bram"], "person": "bram"}
    approved = DRAFT.run(
        step_context(
            engine,
            incident,
            "statement",
            steps={"statement": {"outputs": shown.model_dump()}},
            decision=decision,
            brand=brand,
            checker=checker,
        ),
        params,
    )
    assert approved.phase == "approved" and not approved.awaiting_review and approved.approved_by == ["lena", "bram"]
    steps = {"statement": {"outputs": approved.model_dump()}}
    channel = SandboxChannel(engine)
    first = PUBLISH.run(
        step_context(engine, incident, "publish", steps=steps, brand=brand, checker=checker, channel=channel),
        PUBLISH.params(),
    )
    again = PUBLISH.run(
        step_context(engine, incident, "publish", steps=steps, brand=brand, checker=checker, channel=channel),
        PUBLISH.params(),
    )  # a retried task
    posts = channel.posts()
    assert len(posts) == 2 and {p["platform"] for p in posts} == {"x", "facebook"}
    assert [p["text"] for p in posts if p["platform"] == "facebook"] == [edit]
    assert [p["ref"] for p in first.posts] == [p["ref"] for p in again.posts]
    assert all(p["created"] for p in first.posts) and not any(p["created"] for p in again.posts)
    assert first.through_freeze == [freeze.id] and first.url.startswith("sandbox://x/DiGiorno/s")
    trail = [e for e in audit.events(engine, incident.id) if e.step == "publish"]
    assert [e.action for e in trail] == ["freeze.exception", "statement.published"] * 2
    exception = trail[0].details
    assert exception["freeze"] == freeze.id and exception["what"] == "approved statement"
    assert exception["approved_by"] == ["lena", "bram"]
