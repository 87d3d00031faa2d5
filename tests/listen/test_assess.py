"""The impact assessment on the three doctrine storms: severity, the factors behind it, staff
involvement (the Red Cross case), audiences, the offending post's state and spread; the step kind's
typed outputs usable in later `when:` conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runbook.listen.assess import assess, severity_of
from runbook.sandbox import SandboxChannel
from runbook.spec.expressions import evaluate_when, expression_context
from runbook.steps.assess_impact import AssessOutputs, AssessParams, run
from tests.listen.conftest import RecordingChat, build_world, make_incident, step_context

EXPECTED = {
    # scenario: severity, staff involved, hostility points
    "us-airways": ("critical", False, 6),
    # The complaint model reads the jokes' eye-rolls and "not to your bar tab" as negative (18%, VADER
    # said under 15%), one hostility band up on this fixed scale.
    "red-cross": ("high", True, 2),
    "digiorno": ("critical", False, 6),
}


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_severity_and_factors_of_each_storm(worlds, scenario: str) -> None:  # noqa: ANN001
    world = worlds[scenario]
    result = assess(world.engine, accounts=world.pairs, since=world.t0, until=world.t0 + timedelta(hours=3),
                    offending_ref=world.offending_ref, channel=SandboxChannel(world.engine))
    severity, staff, hostility = EXPECTED[scenario]
    assert (result.severity, result.involves_staff) == (severity, staff), result.summary
    assert result.factor_points.get("hostility", 0) == hostility
    assert result.factor_points["exposure"] == 3  # hundreds of times the everyday hour
    assert result.ratio > 50 and result.peak_window > 500 and result.baseline < 12
    assert 1500 < result.volume <= 2100
    assert result.platforms == {"x": result.volume}
    assert set(result.languages) <= {"en", "nl", "und"} and result.languages["nl"] > 0
    assert len(result.factors) == len(result.factor_points)
    assert all(f.endswith(")") and "(+" in f for f in result.factors)
    post = result.offending_post
    assert post["ref"] == world.offending_ref and post["live"] is True and result.post_live is True
    assert post["answers"] > 500 and result.spread >= post["answers"]
    assert [a["followers"] for a in result.top_authors] == sorted((a["followers"] for a in result.top_authors),
                                                                   reverse=True)
    assert result.reach >= result.top_reach > 0
    assert "press" in result.audiences
    if scenario == "red-cross":
        assert "staff" in result.audiences and result.negative_share < 0.2
    else:
        assert result.negative_share > 0.35 and result.harm_share > 0.1


def test_the_us_airways_screenshots_count_as_spread(worlds) -> None:  # noqa: ANN001
    world = worlds["us-airways"]
    result = assess(world.engine, accounts=world.pairs, since=world.t0, until=world.t0 + timedelta(hours=3),
                    offending_ref=world.offending_ref)
    assert result.offending_post["screenshots"] > 20
    assert result.offending_post["live"] is None  # no channel given: its state is unknown, not "deleted"


def test_a_quiet_day_is_low(worlds) -> None:  # noqa: ANN001
    world = worlds["digiorno"]
    day = world.t0 - timedelta(days=3)
    result = assess(world.engine, accounts=world.pairs, since=day, until=day + timedelta(hours=6))
    assert result.severity == "low" and result.factor_points.get("exposure", 0) == 0
    assert result.involves_staff is False


def test_severity_bands() -> None:
    assert [severity_of(n) for n in (0, 3, 4, 6, 7, 9, 10, 14)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]


def test_the_step_kind_outputs_drive_later_conditions(sqlite_engine) -> None:  # noqa: ANN001
    from runbook import audit

    world = build_world(sqlite_engine, "red-cross", days=9)
    incident = make_incident(sqlite_engine)
    chat = RecordingChat()
    ctx = step_context(sqlite_engine, incident, step_id="assess", chat=chat, now=world.t0 + timedelta(hours=3))
    params = AssessParams.model_validate({"accounts": "x:RedCross", "offending_post":
                                          f"https://social.example/RedCross/status/{world.offending_ref}"})
    produced = run(ctx, params)
    outputs = AssessOutputs.model_validate(produced.model_dump()).model_dump(mode="json")
    assert outputs["severity"] == "high" and outputs["involves_staff"] is True
    assert outputs["since"].startswith(world.t0.isoformat()[:16])  # from the offending post's own time
    assert audit.get_incident(sqlite_engine, incident.id).severity == "high"
    [(_, summary, key)] = chat.messages
    assert summary.startswith("Impact assessment\nSeverity high") and key.endswith(":assess:summary")

    variables = expression_context(inputs={}, steps={"assess": {"outputs": outputs}})
    assert evaluate_when("steps.assess.outputs.involves_staff", variables)
    assert evaluate_when("steps.assess.outputs.severity in ['high', 'critical']", variables)
    assert not evaluate_when("steps.assess.outputs.severity == 'critical'", variables)


def test_artifacts_hook_gets_markdown_and_table(sqlite_engine) -> None:  # noqa: ANN001
    world = build_world(sqlite_engine, "us-airways", days=8, storm=500)
    incident = make_incident(sqlite_engine)
    made: list[dict] = []
    ctx = step_context(sqlite_engine, incident, step_id="assess", now=world.t0 + timedelta(hours=2))
    ctx.services["artifacts"] = lambda **kwargs: made.append(kwargs)
    run(ctx, AssessParams(accounts=["USAirways"], offending_post=world.offending_ref))
    assert [a["kind"] for a in made] == ["markdown", "table"]
    assert made[0]["data"].startswith("### Impact: ") and "| mentions |" in made[0]["data"]
    assert made[1]["data"] and {"author", "followers"} <= set(made[1]["data"][0])
