"""Least privilege on the database: only `runbook db upgrade` changes the schema; a role with
SELECT and INSERT (and the few UPDATE/DELETE the state tables need) runs the product; `audit
verify` reports a missing or disabled trigger; SQLite refuses `INSERT OR REPLACE` of audit rows."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from runbook import audit
from runbook.audit import triggers
from runbook.db import dispose_engines, init_db, make_engine
from tests.audit.audit_helpers import fill, new_incident
from tests.dbfixtures import _admin

REPO = Path(__file__).resolve().parents[2]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook.cli.main", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_insert_or_replace_cannot_rewrite_the_chain_on_sqlite(sqlite_engine: sa.Engine) -> None:
    incident = new_incident(sqlite_engine)
    fill(sqlite_engine, incident.id, 3)
    audit.checkpoint(sqlite_engine, incident.id, reason="test")
    (second,) = [e for e in audit.events(sqlite_engine, incident.id) if e.seq == 2]
    with pytest.raises(sa.exc.DBAPIError, match="append-only: REPLACE refused"), sqlite_engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT OR REPLACE INTO audit_event (id, incident_id, seq, ts, actor, channel, action, "
                "details, prev_hash, hash) SELECT id, incident_id, seq, ts, 'mallory', channel, action, "
                "details, prev_hash, hash FROM audit_event WHERE id = :id"
            ),
            {"id": second.id},
        )
    with pytest.raises(sa.exc.DBAPIError, match="append-only: REPLACE refused"), sqlite_engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT OR REPLACE INTO audit_checkpoint (id, incident_id, seq, hash, ts, reason) "
                "SELECT id, incident_id, seq, 'x', ts, reason FROM audit_checkpoint"
            )
        )
    assert [e.actor for e in audit.events(sqlite_engine, incident.id)][1] == second.actor
    assert audit.verify(sqlite_engine).ok


def test_verify_reports_a_missing_trigger_on_sqlite_and_upgrade_restores_it(sqlite_engine, sqlite_url) -> None:
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_event_no_update")
    report = audit.verify(sqlite_engine)
    assert not report.ok
    assert [(p.kind, p.message) for p in report.problems] == [
        ("trigger", "trigger audit_event_no_update on audit_event is missing (run `runbook db upgrade`)")
    ]
    env = {"RUNBOOK_DATABASE_URL": sqlite_url}
    verified = _cli(["audit", "verify"], env)  # the check is read-only: it does not repair on the way
    assert verified.returncode == 1
    assert "FAILED: database: trigger: trigger audit_event_no_update on audit_event is missing" in verified.stderr
    assert _cli(["db", "upgrade"], env).returncode == 0
    assert _cli(["audit", "verify"], env).returncode == 0


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_verify_reports_a_disabled_trigger_and_upgrade_reenables_it(engine: sa.Engine) -> None:
    incident = new_incident(engine)
    fill(engine, incident.id, 2)
    with engine.begin() as connection:
        triggers.disable(connection, "audit_event")
    report = audit.verify(engine)
    assert not report.ok
    assert {p.message for p in report.problems} == {
        "trigger audit_event_no_update_delete on audit_event is disabled (run `runbook db upgrade` as the owner)",
        "trigger audit_event_no_truncate on audit_event is disabled (run `runbook db upgrade` as the owner)",
    }
    init_db(engine)  # what `runbook db upgrade` runs
    assert audit.verify(engine).ok
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_event"))


@pytest.fixture
def app_role(pg_url: str):
    """A LOGIN role with only the GRANTs `runbook db grants` prints; dropped afterwards."""
    role = f"rb_app_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app'")
    try:
        url = sa.make_url(pg_url).set(username=role, password="app")
        yield role, url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        database = sa.make_url(pg_url).database
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


@pytest.mark.postgres
def test_a_least_privilege_role_runs_freeze_start_and_verify(pg_url: str, app_role, tmp_path) -> None:
    from runbook.engine.commands import start
    from runbook.engine.services import build_services
    from runbook.settings import Settings

    role, app_url = app_role
    owner = {"RUNBOOK_DATABASE_URL": pg_url, "RUNBOOK_HOME": str(tmp_path / "home")}
    app = {**owner, "RUNBOOK_DATABASE_URL": app_url}
    # Before the upgrade, the app role is told what to do, in one line.
    refused = _cli(["audit", "verify"], app)
    assert refused.returncode != 0 and "run `runbook db upgrade` as the owner role" in refused.stderr
    assert "Traceback" not in refused.stderr
    upgraded = _cli(["db", "upgrade"], owner)
    assert upgraded.returncode == 0, upgraded.stderr
    grants = _cli(["db", "grants", role], owner)
    assert grants.returncode == 0, grants.stderr
    with make_engine(pg_url).begin() as connection:
        for statement in grants.stdout.splitlines():
            connection.exec_driver_sql(statement)
    # The role can change no schema and no audit row.
    with (
        pytest.raises(sa.exc.DBAPIError, match="permission denied|must be owner"),
        make_engine(app_url).begin() as connection,
    ):
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
    with pytest.raises(sa.exc.DBAPIError, match="permission denied"), make_engine(app_url).begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_event")

    checked = _cli(["db", "check"], app)
    assert checked.returncode == 0, checked.stderr
    frozen = _cli(["freeze", "--as", "ana", "--reason", "least privilege"], app)
    assert frozen.returncode == 0, frozen.stderr
    assert "Traceback" not in frozen.stderr
    services = build_services(Settings(database_url=app_url, home=tmp_path / "home"), migrate=True)
    started = start(
        services=services,
        playbook_ref="social-media-mistake",
        requester="ana",
        create_run=False,
        inputs={"summary": "Offensive reply sent from @brand", "accounts": "all"},
    )
    assert audit.get_incident(services.db, started.incident.id).status
    assert "freeze" in started.immediate
    verified = _cli(["audit", "verify"], app)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK:")
