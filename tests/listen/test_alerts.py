"""Alerts: one per spike while it lasts, audited in the listening ledger, sent to the chat port with
a start-playbook action, closed when quiet; starting a playbook from an alert, by hand or by rule,
through the engine's start verb, exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from runbook import audit
from runbook.listen import get_alert, list_alerts, run_once, start_from_alert
from runbook.listen.alerts import AlertBusy
from runbook.listen.config import AccountRef, AlertRule, Brand, ListeningConfig, load_config
from runbook.listen.ledger import ledger_incident
from runbook.listen.tables import alerts
from tests.listen.conftest import REPO, ButtonChat, RecordingChat, build_world


def config_for(world, **rule) -> ListeningConfig:  # noqa: ANN001
    return ListeningConfig(
        brands=[Brand(id="usair", accounts=[AccountRef(platform="x", handle=world.brand)])], rules=[AlertRule(**rule)]
    )


class FakeStarter:
    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine
        self.calls: list[dict] = []

    def __call__(self, **kwargs):  # noqa: ANN204
        self.calls.append(kwargs)
        return audit.create_incident(
            self.engine,
            playbook_id=kwargs["playbook"],
            playbook_version=1,
            inputs=kwargs["inputs"],
            requester=kwargs["requester"],
            title=kwargs["title"],
        )


def test_one_alert_per_spike_audited_announced_and_closed_when_quiet(sqlite_engine) -> None:  # noqa: ANN001
    world = build_world(sqlite_engine, "us-airways")
    chat = ButtonChat()
    config = config_for(world)
    actions = []
    at = world.t0 - timedelta(hours=2)
    while at <= world.t0 + timedelta(hours=30):
        tick = run_once(sqlite_engine, config, now=at, chat=chat, ingest=False)
        assert not tick.errors, tick.errors
        actions.append((at, tick.outcomes[0].action))
        at += timedelta(minutes=15)
    opened = [at for at, action in actions if action == "opened"]
    resolved = [at for at, action in actions if action == "resolved"]
    assert len(opened) == 1 and world.t0 < opened[0] <= world.t0 + timedelta(hours=1)
    assert len(resolved) == 1 and resolved[0] > opened[0] + timedelta(hours=2)
    assert {action for at, action in actions if opened[0] < at < resolved[0]} == {"still_open", "quiet"}

    [alert] = list_alerts(sqlite_engine, status=None)
    assert alert.status == "resolved" and alert.reasons == ["volume", "negative", "sustained"]
    assert alert.peak_volume >= alert.volume and alert.checks > 4
    trigger = alert.details["trigger"]
    assert trigger["ref"] == world.offending_ref and trigger["live"] is True and trigger["answers"] > 100
    assert trigger["text"].startswith("@ElleRAY We welcome feedback")
    assert len(alert.details["top_authors"]) == 5

    trail = audit.events(sqlite_engine, ledger_incident(sqlite_engine))
    assert [e.action for e in trail if e.action.startswith("listen.")] == [
        "listen.alert_opened",
        "listen.alert_resolved",
    ]
    assert trail[0].details["check"]["volume"] == alert.volume
    assert audit.verify(sqlite_engine, ledger_incident(sqlite_engine)).ok

    [button] = chat.alerts
    assert button["actions"][0].playbook == "social-media-mistake" and button["actions"][0].alert_id == alert.id
    assert "likely trigger: s1 on x" in button["text"] and "start playbook social-media-mistake" in button["text"]
    assert any("closed (quiet)" in text for text in chat.texts())


def test_the_database_allows_one_open_alert_per_brand(engine) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    row = dict(
        brand="b",
        status="open",
        reasons=[],
        opened_at=now,
        last_seen_at=now,
        window_start=now,
        window_end=now,
        volume=1,
        peak_volume=1,
        baseline_mean=0,
        baseline_std=0,
        threshold=0,
        negative=0,
        negative_share=0,
        baseline_negative_share=0,
        checks=1,
        details={},
    )
    with engine.begin() as connection:
        connection.execute(alerts.insert().values(id="a1", **row))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(alerts.insert().values(id="a2", **row))
    with engine.begin() as connection:
        connection.execute(alerts.update().where(alerts.c.id == "a1").values(status="resolved"))
        connection.execute(alerts.insert().values(id="a3", **row))
        assert connection.execute(sa.select(sa.func.count()).select_from(alerts)).scalar() == 2


def test_an_alert_rule_starts_the_playbook_once(sqlite_engine) -> None:  # noqa: ANN001
    world = build_world(sqlite_engine, "red-cross", storm=800)
    starter = FakeStarter(sqlite_engine)
    chat = RecordingChat()
    config = config_for(
        world, auto_start=True, requester="ana", playbook="wrong-account-post", inputs={"account": "RedCross"}
    )
    for minutes in (30, 45, 60):
        run_once(
            sqlite_engine, config, now=world.t0 + timedelta(minutes=minutes), chat=chat, starter=starter, ingest=False
        )
    [call] = starter.calls
    assert call["playbook"] == "wrong-account-post" and call["requester"] == "ana" and call["via"] == "cli"
    assert call["inputs"]["account"] == "RedCross" and call["inputs"]["summary"].startswith("Mention spike: usair")
    assert call["inputs"]["offending_post"].endswith(f"/RedCross/status/{world.offending_ref}")
    [alert] = list_alerts(sqlite_engine)
    incident = audit.get_incident(sqlite_engine, alert.incident_id)
    assert incident is not None and alert.details["incident_slug"] == incident.slug
    linked = [e for e in audit.events(sqlite_engine, incident.id) if e.action == "listen.alert_linked"]
    assert linked and linked[0].details["auto"] is True
    assert any(f"incident started: {incident.slug}" in text for text in chat.texts())
    # A second start (a late click) returns the same incident.
    again = start_from_alert(sqlite_engine, alert.id, playbook="wrong-account-post", requester="bram", starter=starter)
    assert again.id == incident.id and len(starter.calls) == 1


def test_two_clicks_at_once_start_one_incident(sqlite_engine) -> None:  # noqa: ANN001
    world = build_world(sqlite_engine, "digiorno", storm=600)
    run_once(sqlite_engine, config_for(world), now=world.t0 + timedelta(minutes=40), ingest=False)
    [alert] = list_alerts(sqlite_engine)
    gate = threading.Event()
    starter = FakeStarter(sqlite_engine)

    def slow_starter(**kwargs):  # noqa: ANN202
        gate.wait(5)
        return starter(**kwargs)

    results: list[object] = []

    def click(person: str) -> None:
        try:
            results.append(
                start_from_alert(
                    sqlite_engine, alert.id, playbook="hashtag-misuse", requester=person, starter=slow_starter
                )
            )
        except AlertBusy as exc:
            results.append(exc)

    threads = [threading.Thread(target=click, args=(p,)) for p in ("ana", "bram")]
    for thread in threads:
        thread.start()
    threading.Timer(0.5, gate.set).start()
    for thread in threads:
        thread.join(10)
    assert len(starter.calls) == 1
    assert sorted(type(r).__name__ for r in results) == ["AlertBusy", "Incident"]
    assert get_alert(sqlite_engine, alert.id[:8]).incident_id is not None


def test_start_through_the_engine_start_verb(sqlite_engine, tmp_path: Path) -> None:  # noqa: ANN001
    from runbook.engine.listen_wiring import engine_starter
    from runbook.engine.services import Services
    from runbook.settings import Settings
    from runbook.steps.registry import load_kinds

    world = build_world(sqlite_engine, "us-airways", storm=600)
    run_once(sqlite_engine, config_for(world), now=world.t0 + timedelta(minutes=40), ingest=False)
    [alert] = list_alerts(sqlite_engine)
    settings = Settings(
        home=tmp_path,
        database_url=sqlite_engine.url.render_as_string(hide_password=False),
        roster=REPO / "roster.yaml",
        playbooks_dir=REPO / "playbooks",
        templates_dir=REPO / "templates",
    )
    services = Services(settings=settings, db=sqlite_engine, kinds=load_kinds())
    notes: list[str] = []
    incident = start_from_alert(
        sqlite_engine,
        alert.id,
        playbook="social-media-mistake",
        requester="ana",
        starter=engine_starter(services, create_run=False, notes=notes),
        extra_inputs={"not_an_input": "dropped"},
    )
    assert incident.playbook_id == "social-media-mistake" and incident.requester == "ana"
    assert incident.inputs["summary"].startswith("Mention spike: usair: ")
    assert incident.inputs["offending_post"].endswith(f"/status/{world.offending_ref}")
    actions = [e.action for e in audit.events(sqlite_engine, incident.id)]
    # the playbook's immediate freeze runs inside start, so its events may come between
    assert actions[0] == "incident.started" and "listen.alert_linked" in actions
    from runbook.engine.commands import CommandError

    with pytest.raises(CommandError, match="may not start incidents"):
        fresh = list_alerts(sqlite_engine)[0]
        with sqlite_engine.begin() as connection:
            connection.execute(alerts.update().values(incident_id=None, start_claim=None))
        start_from_alert(
            sqlite_engine,
            fresh.id,
            playbook="social-media-mistake",
            requester="jay",
            starter=engine_starter(services, create_run=False),
        )
    assert get_alert(sqlite_engine, alert.id).start_claim is None  # the failed start let go of its claim


def test_config_file(tmp_path: Path, sqlite_engine) -> None:  # noqa: ANN001
    path = tmp_path / "listening.yaml"
    path.write_text(
        "brands:\n  - id: usair\n    accounts: [{platform: x, handle: '@USAirways'}]\n    window: 30m\n"
        "    k: 2.5\nrules:\n  - {brands: [usair], playbook: social-media-mistake, auto_start: true, "
        "requester: ana}\n  - {playbook: null}\n",
        encoding="utf-8",
    )
    config = load_config(path, engine=sqlite_engine)
    brand = config.brand("usair")
    assert brand.pairs() == [("x", "USAirways")] and brand.rule().window == timedelta(minutes=30)
    assert config.rule_for("usair").auto_start and config.rule_for("other").playbook is None
    path.write_text("brands:\n  - id: bad id\n    accounts: []\n", encoding="utf-8")
    from runbook.listen.config import ConfigError

    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "brands.0.id" in str(error.value) and "brands.0.accounts" in str(error.value)
    # Without a file, every sandbox brand account is watched.
    build_world(sqlite_engine, "red-cross", days=1, storm=10)
    assert [b.id for b in load_config(None, engine=sqlite_engine).brands] == ["x-RedCross"]


def test_check_alert_and_assessment_on_both_databases(engine) -> None:  # noqa: ANN001
    from runbook.listen.assess import assess
    from runbook.listen.spikes import check_spike

    world = build_world(engine, "digiorno", days=8, storm=600)
    quiet = check_spike(engine, brand="d", accounts=world.pairs, now=world.t0 - timedelta(hours=3))
    storm = check_spike(engine, brand="d", accounts=world.pairs, now=world.t0 + timedelta(minutes=30))
    assert not quiet.spike and storm.reasons == ["volume", "negative", "sustained"] and quiet.baseline_windows == 7
    config = config_for(world)
    for minutes in (30, 40):
        tick = run_once(engine, config, now=world.t0 + timedelta(minutes=minutes), chat=RecordingChat())
        assert not tick.errors, tick.errors
    [alert] = list_alerts(engine)
    assert alert.checks == 2 and alert.peak_volume >= alert.volume
    concerns = alert.details["concerns"]
    assert concerns and concerns[0]["size"] > 10 and "what people are upset about:" in alert.text()
    result = assess(
        engine,
        accounts=world.pairs,
        since=world.t0,
        until=world.t0 + timedelta(hours=2),
        offending_ref=world.offending_ref,
    )
    assert result.severity in ("high", "critical") and result.ratio > 20


def test_a_surge_through_the_night_stays_one_alert_announced_again_on_day_two(sqlite_engine) -> None:  # noqa: ANN001
    from tests.listen.test_spikes import MONDAY, SURGES, seasonal_week

    # Friday 08:00 until Saturday 10:00 at 3x, Saturday 09:00 until Sunday 10:00 at 2.5x: never quiet.
    seasonal_week(sqlite_engine, surges=SURGES, until_hour=34)
    chat = RecordingChat()
    config = ListeningConfig(brands=[Brand(id="seasonal", accounts=[AccountRef(platform="x", handle="Seasonal")])])
    actions, at = [], SURGES[0][0] - timedelta(hours=2)
    while at < MONDAY + timedelta(days=6, hours=16):
        tick = run_once(sqlite_engine, config, now=at, chat=chat, ingest=False, escalate=False)
        assert not tick.errors, tick.errors
        actions.append((at, tick.outcomes[0].action))
        at += timedelta(minutes=10)
    opened = [at for at, a in actions if a == "opened"]
    again = [at for at, a in actions if a == "sustained"]
    resolved = [at for at, a in actions if a == "resolved"]
    assert len(opened) == 1 and SURGES[0][0] < opened[0] <= SURGES[0][0] + timedelta(hours=1)
    # Announced again once a day while it keeps spiking (day two, day three), as the same alert.
    assert len(again) == 2 and all(b - a >= timedelta(hours=20) for a, b in zip([opened[0], *again], again))
    assert len(resolved) == 1 and resolved[0] > MONDAY + timedelta(days=6, hours=10)  # after the surge ended
    [alert] = list_alerts(sqlite_engine, status=None)
    assert alert.details["announcements"] == 3
    assert any("still open and spiking again" in text for text in chat.texts())
    trail = audit.events(sqlite_engine, ledger_incident(sqlite_engine))
    assert [e.action for e in trail if e.action.startswith("listen.alert")] == [
        "listen.alert_opened",
        "listen.alert_sustained",
        "listen.alert_sustained",
        "listen.alert_resolved",
    ]
