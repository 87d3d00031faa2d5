"""Standing ledgers: incidents of kind "ledger" whose trails record work done outside any crisis
(the post queue's routine, the listening alerts, refused Slack requests). One per name, created on
first use; two processes racing to create it agree on the same row (its slug is unique).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from runbook.audit.incidents import create_incident
from runbook.audit.models import INCIDENT_TABLE

_incidents = INCIDENT_TABLE


def ledger_slug(name: str) -> str:
    # Incident slugs start with a date, so this can never be taken by a real incident.
    return f"ledger-{name}"


def _find(engine: Engine, name: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(sa.select(_incidents.c.id).where(_incidents.c.slug == ledger_slug(name))).scalar()


def ledger(engine: Engine, name: str, *, title: str | None = None, actor: str = "system") -> str:
    """The id of the standing ledger `name` (its playbook_id too), created on first use.

    Not cached: tests and tools recreate databases under one URL, and the look-up is one indexed row.
    """
    found = _find(engine, name)
    if found is not None:
        return found
    try:
        return create_incident(
            engine,
            playbook_id=name,
            playbook_version=1,
            inputs={},
            requester=actor,
            title=title or f"{name} ledger",
            kind="ledger",
            slug=ledger_slug(name),
        ).id
    except IntegrityError:  # another process created it between our look-up and our insert
        found = _find(engine, name)
        if found is None:
            raise
        return found
