"""Identity that can be checked: with the statement gate requiring a verified identity, one OS
user cannot complete a two-person rule by typing another name (`approve --as lea` is refused and
exits 1), and a resume through the Prefect API claiming channel slack with a made-up decision id
is recorded as a claim, never as Slack. Only the OS user mapped to the person (cli_users) counts."""

from __future__ import annotations

import getpass
import os
import time

import pytest
import yaml
from typer.testing import CliRunner

from runbook.audit import get_incident
from runbook.cli.main import app

pytestmark = [pytest.mark.prefect]


@pytest.fixture
def strict_roster(engine):
    path = engine.services.settings.resolved_roster
    original = path.read_text()
    roster = yaml.safe_load(original)
    roster["cli_users"] = {getpass.getuser(): "alma"}
    roster["require_identity"] = {"statement": ["slack", "cli"]}
    path.write_text(yaml.safe_dump(roster, sort_keys=False))
    os.utime(path, (time.time() + 2, time.time() + 2))  # a new mtime even within the same second
    try:
        yield
    finally:
        path.write_text(original)
        os.utime(path, (time.time() + 4, time.time() + 4))


def test_one_os_user_cannot_complete_a_two_person_rule_alone(engine, strict_roster):
    from runbook.engine.prefect_io import decision_input, send_decision

    env = {k: v for k, v in engine.env.items() if k.startswith(("RUNBOOK_", "PREFECT_"))}
    incident = engine.start("t-quorum", {"summary": "identity"})
    engine.wait_for(incident, "signoff.requested", step="statement")

    # 1. The CLI, run by the OS user mapped to alma, claiming to be lea: refused, exit 1.
    claimed = CliRunner().invoke(
        app, ["approve", incident.slug, "statement", "--as", "lea", "-f", "text=ok", "--verdict-wait", "120"], env=env
    )
    assert claimed.exit_code == 1, claimed.output
    assert "needs an identity verified by slack or cli; lea's was only claimed" in claimed.output

    # 2. A resume straight through the Prefect API, claiming Slack with an invented decision id.
    flow_run_id = get_incident(engine.services.db, incident.id).flow_run_id
    send_decision(
        flow_run_id=flow_run_id,
        step_id="statement",
        wait=60,
        run_input=decision_input(
            approve=True, person="ben", channel="slack", decision_id="slack-invented", fields={"text": "ok"}
        ),
    )
    forged = engine.wait_for(incident, "signoff.refused", count=2, timeout=180)
    assert forged.details["decision_id"] == "slack-invented"
    assert forged.channel == "prefect-ui"
    assert forged.details["identity"] == {"method": "claim", "verified": False, "as": None, "claimed_channel": "slack"}

    # 3. alma from her own OS account: verified, counted (1 of 2); the rule still needs a second person.
    mine = CliRunner().invoke(
        app, ["approve", incident.slug, "statement", "--as", "alma", "-f", "text=ok", "--verdict-wait", "120"], env=env
    )
    assert mine.exit_code == 0, mine.output
    approved = engine.wait_for(incident, "signoff.approved", step="statement")
    assert (approved.actor, approved.channel) == ("alma", "cli")
    assert approved.details["identity"]["method"] == "os-user" and approved.details["identity"]["verified"]
    assert approved.details["approvals"] == ["alma"]
    attested = [e for e in engine.events(incident) if e.action == "identity.attested"]
    assert [(e.actor, e.details["os_user"]) for e in attested] == [
        ("lea", getpass.getuser()),
        ("alma", getpass.getuser()),
    ]
    assert get_incident(engine.services.db, incident.id).status == "waiting"
    CliRunner().invoke(app, ["cancel", incident.slug, "--as", "alma", "--reason", "test over"], env=env)
