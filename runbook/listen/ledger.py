"""The listening ledger: a standing incident whose audit trail records alerts raised outside any
incident (audit events belong to an incident; the post queue and the Slack app do the same)."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook import audit
from runbook.audit.models import Incident

LEDGER_PLAYBOOK = "listening"
LEDGER_TITLE = "Listening ledger"
ACTOR = "system:monitor"

_incidents = Incident.__table__
_ledgers: dict[str, str] = {}
_lock = threading.Lock()


def _oldest(engine: Engine) -> str | None:
    query = (sa.select(_incidents.c.id).where(_incidents.c.playbook_id == LEDGER_PLAYBOOK)
             .order_by(_incidents.c.created_at, _incidents.c.id).limit(1))
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def ledger_incident(engine: Engine) -> str:
    """The ledger's incident id, created on first use; if two processes race, the oldest wins."""
    url = engine.url.render_as_string(hide_password=False)
    with _lock:
        if url in _ledgers:
            return _ledgers[url]
        found = _oldest(engine)
        if found is None:
            audit.create_incident(engine, playbook_id=LEDGER_PLAYBOOK, playbook_version=1, inputs={},
                                  requester=ACTOR, title=LEDGER_TITLE)
            found = _oldest(engine)
        _ledgers[url] = found
        return found


def forget() -> None:
    """Drop cached ids (tests that recreate databases under the same URL)."""
    with _lock:
        _ledgers.clear()
