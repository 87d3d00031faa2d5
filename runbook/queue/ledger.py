"""Where queue events go in the audit trail: the incident of the freeze they belong to, or the
post queue's standing ledger incident for routine work (scheduling, publishing) outside a crisis.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from runbook import audit
from runbook.db import write_transaction
from runbook.queue.tables import meta

LEDGER_KEY = "ledger_incident"
LEDGER_PLAYBOOK = "post-queue"
SYSTEM_ACTOR = "system:post-queue"

_ledgers: dict[str, str] = {}  # engine url -> incident id (it never changes once created)


def ledger_incident(engine: Engine) -> str:
    """The id of the ledger incident, created on first use."""
    url = engine.url.render_as_string(hide_password=False)
    if url in _ledgers:
        return _ledgers[url]
    found = _read(engine)
    if found is None:
        incident = audit.create_incident(engine, playbook_id=LEDGER_PLAYBOOK, playbook_version=1, inputs={},
                                         requester=SYSTEM_ACTOR, title="Post queue ledger")
        try:
            write_transaction(engine, lambda c: c.execute(meta.insert().values(key=LEDGER_KEY, value=incident.id)))
            found = incident.id
        except IntegrityError:  # another process created it first; theirs is the ledger
            found = _read(engine)
    _ledgers[url] = found
    return found


def _read(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(sa.select(meta.c.value).where(meta.c.key == LEDGER_KEY)).scalar()


def record(engine: Engine, *, incident_id: str | None, actor: str, channel: str, action: str,
           details: dict[str, Any], step: str | None = None) -> int:
    """Append one event (to the ledger when `incident_id` is None); returns its sequence number."""
    target = incident_id or ledger_incident(engine)
    # The ledger has no sign-offs to checkpoint at: every row is one (same transaction).
    return audit.append(engine, incident_id=target, actor=actor, channel=channel, action=action, step=step,
                        details=details, checkpoint="post queue ledger" if incident_id is None else None).seq
