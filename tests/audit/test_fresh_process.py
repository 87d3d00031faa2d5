"""Events the store returns are readable in a process that never ran an ORM query (a CLI
command, a flow process, the queue's kill-test child): the store configures the mappers itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runbook.audit import create_incident
from runbook.db import init_db, make_engine

# Only Core work in the child: an append inside a write transaction, as the queue's freeze does.
SCRIPT = """
import sys
from runbook.audit import append_in
from runbook.db import make_engine, write_transaction

engine = make_engine(sys.argv[1])
event = write_transaction(engine, lambda connection: append_in(
    connection, incident_id=sys.argv[2], actor="ana", channel="cli", action="note.added", details={"n": 1}))
print(event.seq, event.action)
"""


def test_an_event_appended_in_a_transaction_reads_in_a_fresh_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    init_db(engine)
    incident = create_incident(engine, playbook_id="p", playbook_version=1, inputs={}, requester="ana", title="t")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, incident.id],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seq, action = done.stdout.split()
    assert int(seq) >= 1 and action == "note.added"
