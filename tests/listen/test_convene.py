"""`convene_teams`: teams from the playbook's rules on the assessment (board and management for a
critical storm, human resources when staff are involved), people from the roster, a briefing,
acknowledgements with a deadline, escalation to deputies; and the three kinds run by the engine's
own step executor from a playbook (no Prefect)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook import audit
from runbook.listen.convene import ack_status, acknowledge, escalate_overdue
from runbook.steps.convene_teams import ConveneParams, run
from tests.listen.conftest import HERE, REPO, RecordingChat, RoomChat, build_world, make_incident, step_context

RULES = {
    "always": ["communication", "marketing"],
    "rules": [
        {"when": "steps.assess.outputs.severity in ['high', 'critical']", "teams": ["management", "board"]},
        {"when": "steps.assess.outputs.involves_staff", "teams": ["human_resources"]},
    ],
    "ack_within": "15m",
}
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def assessed(severity: str, staff: bool) -> dict:
    return {
        "assess": {
            "outputs": {"severity": severity, "involves_staff": staff, "summary": f"Severity {severity}"},
            "status": "completed",
        }
    }


def convene(engine, roster, *, severity: str, staff: bool, chat=None):  # noqa: ANN001, ANN201
    incident = make_incident(engine)
    ctx = step_context(
        engine,
        incident,
        step_id="convene",
        steps=assessed(severity, staff),
        chat=chat,
        roster=roster,
        now=NOW,
        inputs={"summary": "Offensive reply"},
    )
    return incident, run(ctx, ConveneParams.model_validate(RULES))


def test_critical_convenes_management_and_the_board(sqlite_engine, roster) -> None:  # noqa: ANN001
    chat = RoomChat()
    incident, out = convene(sqlite_engine, roster, severity="critical", staff=False, chat=chat)
    assert out.teams == ["communication", "marketing", "management", "board"]
    assert out.rules_matched == [RULES["rules"][0]["when"]]
    assert out.by_team == {
        "communication": ["ana", "bram", "noor"],
        "marketing": ["sam", "jay"],
        "management": ["eva"],
        "board": ["eva"],
    }
    assert out.people == ["ana", "bram", "noor", "sam", "jay", "eva"] and out.missing_teams == []
    assert [a["team"] for a in out.asked if a["person"] == "eva"] == ["management"]
    assert out.deadline == (NOW + timedelta(minutes=15)).isoformat() and out.acknowledged == []
    assert chat.rooms == [{"people": out.people, "key": f"{incident.id}:convene:war-room"}]
    assert out.war_room == "C0WARROOM"
    [(channel, briefing, _)] = chat.messages
    assert channel == "C0WARROOM" and briefing.startswith(f"Incident {incident.slug}: you are convened")
    assert "Severity critical" in briefing and "Eva Smit (management/board)" in briefing
    assert f"runbook ack {incident.slug} --as YOUR-ID" in briefing
    [event] = [e for e in audit.events(sqlite_engine, incident.id) if e.action == "convene.requested"]
    assert event.details["teams"] == out.teams and event.step == "convene"


def test_staff_involvement_convenes_human_resources(sqlite_engine, roster) -> None:  # noqa: ANN001
    chat = RecordingChat()  # no war room in this chat port: the briefing goes to the incident channel
    _, out = convene(sqlite_engine, roster, severity="medium", staff=True, chat=chat)
    assert out.teams == ["communication", "marketing", "human_resources"]
    assert "tom" in out.people and "eva" not in out.people
    assert out.war_room == "incident-channel" and chat.messages[0][0] == "incident-channel"


def test_rerun_keeps_the_first_requests(sqlite_engine, roster) -> None:  # noqa: ANN001
    incident, first = convene(sqlite_engine, roster, severity="low", staff=False)
    later = step_context(
        sqlite_engine,
        incident,
        step_id="convene",
        steps=assessed("low", False),
        roster=roster,
        now=NOW + timedelta(minutes=5),
    )
    acknowledge(sqlite_engine, incident_id=incident.id, person="ana", now=NOW + timedelta(minutes=1))
    second = run(later, ConveneParams.model_validate(RULES))
    assert second.deadline == first.deadline and second.acknowledged == ["ana"]
    assert len(ack_status(sqlite_engine, incident.id)) == len(first.people)


def test_a_person_who_does_not_acknowledge_is_escalated_to_their_deputy(sqlite_engine, roster) -> None:  # noqa: ANN001
    incident, out = convene(sqlite_engine, roster, severity="critical", staff=False)
    for person in ("ana", "bram", "noor", "jay"):
        acknowledge(sqlite_engine, incident_id=incident.id, person=person, via="slack", now=NOW + timedelta(minutes=3))
    chats: dict[str, RecordingChat] = {}

    def chat_for(incident_id: str) -> RecordingChat:
        return chats.setdefault(incident_id, RecordingChat())

    assert escalate_overdue(sqlite_engine, roster=roster, now=NOW + timedelta(minutes=14), chat_for=chat_for) == []
    done = escalate_overdue(sqlite_engine, roster=roster, now=NOW + timedelta(minutes=16), chat_for=chat_for)
    # sam's deputy is noor (already asked, and she answered); eva has no deputy.
    assert sorted((e.person, e.deputy) for e in done) == [("eva", None), ("sam", "noor")]
    assert escalate_overdue(sqlite_engine, roster=roster, now=NOW + timedelta(minutes=20)) == []  # once only

    states = {(r.person, r.level): r.state for r in ack_status(sqlite_engine, incident.id)}
    assert states[("sam", 0)] == "escalated" and states[("eva", 0)] == "escalated"
    assert states[("ana", 0)] == "acknowledged"
    actions = [
        (e.action, e.details.get("person"), e.details.get("deputy"))
        for e in audit.events(sqlite_engine, incident.id)
        if e.action.startswith("convene.") and e.action != "convene.requested"
    ]
    assert ("convene.escalated", "sam", "noor") in actions and ("convene.unanswered", "eva", None) in actions
    assert [a for a in actions if a[0] == "convene.acknowledged"] == [
        ("convene.acknowledged", p, None) for p in ("ana", "bram", "noor", "jay")
    ]
    texts = chats[incident.id].texts()
    assert "sam (marketing) did not acknowledge by 09:15 UTC; their deputy noor is on it already." in texts
    assert any("nobody stands in for them" in t for t in texts)


def test_a_deputy_is_asked_with_a_fresh_deadline_and_can_be_escalated_again(sqlite_engine, roster) -> None:  # noqa: ANN001
    incident = make_incident(sqlite_engine)
    ctx = step_context(sqlite_engine, incident, step_id="convene", steps=assessed("low", False), roster=roster, now=NOW)
    run(ctx, ConveneParams(always=["communication"], ack_within=timedelta(minutes=10)))
    for person in ("bram", "noor"):
        acknowledge(sqlite_engine, incident_id=incident.id, person=person, now=NOW)
    [first] = escalate_overdue(sqlite_engine, roster=roster, now=NOW + timedelta(minutes=11))
    assert (first.person, first.deputy) == ("ana", "bram")  # bram answered already: nobody new is asked
    incident2 = make_incident(sqlite_engine, "second")
    ctx2 = step_context(
        sqlite_engine, incident2, step_id="convene", steps=assessed("low", False), roster=roster, now=NOW
    )
    run(ctx2, ConveneParams(always=["marketing"], ack_within=timedelta(minutes=10)))
    acknowledge(sqlite_engine, incident_id=incident2.id, person="jay", now=NOW)
    asked = RecordingChat()
    [to_noor] = escalate_overdue(
        sqlite_engine, roster=roster, now=NOW + timedelta(minutes=10), chat_for=lambda _: asked
    )
    assert asked.texts() == [
        f"sam (marketing) did not acknowledge by 09:10 UTC; asking their deputy noor "
        f"(by 09:20 UTC): runbook ack {incident2.slug} --as noor"
    ]
    assert (to_noor.person, to_noor.deputy) == ("sam", "noor")
    assert to_noor.deadline == NOW + timedelta(minutes=20)
    [noor] = [r for r in ack_status(sqlite_engine, incident2.id) if r.person == "noor"]
    assert (noor.level, noor.deputy_of, noor.team) == (1, "sam", "marketing")
    chat = RecordingChat()
    [after] = escalate_overdue(sqlite_engine, roster=roster, now=NOW + timedelta(minutes=21), chat_for=lambda _: chat)
    assert (after.person, after.deputy) == ("noor", None)  # noor has no deputy
    assert chat.texts() == [
        "noor (marketing) did not acknowledge by 09:20 UTC; nobody stands in for them: find someone for the team."
    ]


def test_unknown_team_and_bad_rule(sqlite_engine, roster) -> None:  # noqa: ANN001
    incident = make_incident(sqlite_engine)
    chat = RecordingChat()
    ctx = step_context(sqlite_engine, incident, step_id="convene", steps={}, roster=roster, chat=chat, now=NOW)
    out = run(ctx, ConveneParams(always=["logistics", "legal"]))
    assert out.missing_teams == ["logistics"] and out.people == ["lena", "omar"]
    assert "Nobody on the roster for: logistics" in chat.texts()[1]
    with pytest.raises(ValueError, match="does not parse"):
        ConveneParams.model_validate({"rules": [{"when": "steps.assess.outputs.severity in [", "teams": ["board"]}]})
    with pytest.raises(ValueError, match="give `always` teams"):
        ConveneParams.model_validate({})
    from jinja2.exceptions import UndefinedError

    with pytest.raises(UndefinedError):  # a rule naming a step that did not run fails loudly
        run(ctx, ConveneParams.model_validate(RULES))


def test_ack_and_acks_commands(sqlite_url, roster, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from runbook.cli.main import app
    from runbook.db import init_db, make_engine

    engine = make_engine(sqlite_url)
    init_db(engine)
    incident, _ = convene(engine, roster, severity="critical", staff=False)
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RUNBOOK_ROSTER", str(REPO / "roster.yaml"))
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    runner = CliRunner()
    done = runner.invoke(app, ["ack", incident.slug, "--as", "eva"])
    assert done.exit_code == 0 and "eva acknowledged" in done.output and "management" in done.output
    assert "already acknowledged" in runner.invoke(app, ["ack", incident.slug, "--as", "eva"]).output
    refused = runner.invoke(app, ["ack", incident.slug, "--as", "lena"])
    assert refused.exit_code == 1 and "lena was not asked" in refused.output
    listed = runner.invoke(app, ["acks", incident.slug, "--escalate"])
    assert listed.exit_code == 0
    lines = {line.split()[2]: line for line in listed.output.splitlines()}
    assert "acknowledged" in lines["eva"]
    # The real clock is long past the 2024 deadline: everyone else was escalated.
    assert "escalated" in lines["sam"] and "(deputy of ana)" not in lines["bram"]


def test_the_kinds_run_from_a_playbook_through_the_engine_executor(
    sqlite_engine,
    tmp_path: Path,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runbook.engine import services as engine_services
    from runbook.engine.commands import plan_for
    from runbook.engine.context import Run
    from runbook.engine.execute import execute_step
    from runbook.engine.record import Recorder
    from runbook.engine.services import Services
    from runbook.sandbox import SandboxChannel
    from runbook.settings import Settings
    from runbook.spec.expressions import evaluate_when
    from runbook.steps.registry import load_kinds

    world = build_world(sqlite_engine, "us-airways", days=8, storm=1500)
    settings = Settings(
        home=tmp_path,
        database_url=sqlite_engine.url.render_as_string(hide_password=False),
        roster=REPO / "roster.yaml",
        playbooks_dir=HERE / "playbooks",
        templates_dir=REPO / "templates",
    )
    services = Services(settings=settings, db=sqlite_engine, kinds=load_kinds())
    inputs = {
        "summary": "Offensive image sent to a customer",
        "account": "x:USAirways",
        "offending_post": f"https://social.example/USAirways/status/{world.offending_ref}",
        "until": (world.t0 + timedelta(hours=2)).isoformat(),
    }
    plan = plan_for(services=services, playbook_ref="listen-e2e", inputs=inputs, requester="ana")
    incident = audit.create_incident(
        sqlite_engine,
        playbook_id=plan.playbook_id,
        playbook_version=1,
        inputs=plan.inputs,
        requester="ana",
        title="e2e",
    )
    chat = RecordingChat()
    made: list[dict] = []  # the engine's artifacts hook (outside a flow run there is no Prefect API to send to)
    monkeypatch.setattr(engine_services, "_artifacts_hook", lambda **kwargs: made.append(kwargs))
    run_ = Run(
        services=services,
        incident=incident,
        plan=plan,
        record=Recorder(db=sqlite_engine, incident_id=incident.id),
        chat=chat,
    )
    for step in plan.steps:
        if step.when and not evaluate_when(step.when, run_.expressions()):
            run_.steps[step.id] = {"outputs": {}, "status": "skipped", "decision": {}}
            continue
        decision = {"choice": "delete"} if step.uses == "decide" else None
        outputs = execute_step(run_, step, decision=decision)
        run_.steps[step.id] = {"outputs": outputs, "status": "completed", "decision": decision or {}}
    outs = {k: v["outputs"] for k, v in run_.steps.items()}
    assert outs["assess"]["severity"] == "critical" and outs["assess"]["post_live"] is True
    assert [a["kind"] for a in made] == ["markdown", "table", "table"]  # the concerns table too
    assert outs["delete"] == {
        "ref": world.offending_ref,
        "deleted": True,
        "already_gone": False,
        "warning": outs["delete"]["warning"],
    }
    assert "screenshots survive" in outs["delete"]["warning"]
    from runbook.spec.expressions import render_text

    prompt = render_text(plan.step("delete-decision").gate.prompt, run_.expressions())
    assert prompt.startswith("Severity critical") and "still live" in prompt and "screenshots survive" in prompt
    assert outs["convene"]["teams"] == ["communication", "marketing", "management", "board"]
    post = next(p for p in SandboxChannel(sqlite_engine).posts() if p["ref"] == world.offending_ref)
    assert post["deleted_at"] is not None and post["delete_key"] == f"{incident.id}:delete:{world.offending_ref}"

    # The executor does not run a finished step again; a new run of delete_post finds the post gone.
    again = execute_step(run_, plan.step("delete"), decision=None)
    assert again["deleted"] is True
    from runbook.steps.delete_post import DeleteParams
    from runbook.steps.delete_post import run as delete_run

    other = make_incident(sqlite_engine, "another incident")
    repeat = delete_run(step_context(sqlite_engine, other, step_id="delete"), DeleteParams(post=world.offending_ref))
    assert (repeat.deleted, repeat.already_gone) == (False, True)
    trail = [e.action for e in audit.events(sqlite_engine, incident.id)]
    assert trail.count("post.deleted") == 1 and trail.count("step.finished") == 4
    assert audit.get_incident(sqlite_engine, incident.id).severity == "critical"
