"""Replays and floods: the same signed slash command twice freezes once (409 for the replay); the
same trigger_id under a new signature runs once; an unknown user's refusals are aggregated after a
burst; the access ledger is checkpointed, so truncating it is caught."""

from __future__ import annotations

import time

from runbook import audit
from runbook.queue import list_freezes
from runbook.slack.access import LEDGER_PLAYBOOK, REFUSALS_AGGREGATED, Access
from runbook.slack.verify import sign
from tests.slack.conftest import SECRET


def test_a_replayed_slash_command_is_refused_and_runs_once(offline):
    agent = offline.agent
    body = agent.command_body("freeze replayed", user="U0ANA")
    headers = sign(SECRET, body, int(time.time()))
    first = agent.send(body, headers=headers, signed=False)
    replay = agent.send(body, headers=headers, signed=False)
    assert first.status == 200
    assert replay.status == 409 and replay.json() == {"error": "this request was already received"}
    offline.fake.wait_response(lambda p: "🧊" in p.get("text", ""))
    # Signed again (say, by a second app instance seeing a redelivery): the trigger_id still runs once.
    again = agent.send(body, timestamp=int(time.time()) - 7)
    assert again.status == 200 and "already received" in again.body
    time.sleep(1.0)
    assert len(list_freezes(offline.services.db)) == 1


def test_refusals_of_an_unknown_user_are_aggregated_and_the_ledger_checkpointed(offline_services):
    db = offline_services.db
    now = [1000.0]
    access = Access(db=db, roster=offline_services.roster, window=60, burst=3, clock=lambda: now[0])
    for _ in range(200):
        access.refuse(slack_user="U0FLOOD", what="freeze", reason="not in the roster")
    now[0] += 61
    access.refuse(slack_user="U0FLOOD", what="status", reason="not in the roster")  # a new window
    access.flush()
    (ledger,) = [i for i in audit.list_incidents(db) if i.playbook_id == LEDGER_PLAYBOOK]
    rows = [e for e in audit.events(db, ledger.id) if e.action.startswith("slack.refused")]
    assert [e.action for e in rows] == ["slack.refused"] * 3 + [REFUSALS_AGGREGATED, "slack.refused"]
    assert rows[3].details["count"] == 197 and rows[3].details["attempted"] == ["freeze"]
    assert rows[3].actor == "slack:U0FLOOD"
    # Every ledger row is under a checkpoint: removing the tail is a verification failure.
    marks = audit.checkpoints(db, ledger.id)
    assert marks[-1].seq == audit.events(db, ledger.id)[-1].seq
    from runbook.audit import triggers

    with db.begin() as connection:
        triggers.remove(connection)
        connection.exec_driver_sql(f"DELETE FROM audit_event WHERE incident_id = '{ledger.id}' AND seq > 1")
    report = audit.verify(db, ledger.id, triggers=False)
    assert not report.ok and {p.kind for p in report.problems} == {"missing_checkpoint_event"}
