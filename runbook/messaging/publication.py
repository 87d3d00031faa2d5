"""Publishing the approved statement: the evidence of its approval, the freeze it passes through
(the one exception to the silence, recorded as such), and where each variant landed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa


def approvals(engine: Any, incident_id: str, step_id: str) -> list[str]:
    """Who granted the statement step's sign-off, from the audit trail (the engine records it)."""
    from runbook.audit import events

    found: list[str] = []
    for event in events(engine, incident_id):
        if event.step == step_id and event.action == "signoff.granted":
            found = list((event.details or {}).get("approvers") or [])
    return found


def published_before(engine: Any, incident_id: str, key: str) -> bool:
    from runbook.audit import events

    return any(
        e.action == "statement.published" and (e.details or {}).get("key") == key for e in events(engine, incident_id)
    )


def active_freeze(engine: Any, account: str) -> dict[str, Any] | None:
    """The active freeze covering `account`, if the queue has one."""
    from runbook.queue.gate import covering_freeze
    from runbook.queue.tables import freezes

    with engine.connect() as connection:
        try:
            freeze_id = covering_freeze(connection, account)
        except sa.exc.OperationalError:  # no queue tables: nothing is frozen
            return None
        if freeze_id is None:
            return None
        row = connection.execute(
            sa.select(freezes.c.id, freezes.c.incident_id, freezes.c.scope).where(freezes.c.id == freeze_id)
        ).first()
    return {"id": row.id, "incident_id": row.incident_id, "scope": list(row.scope)}


def url_of(channel: Any, *, platform: str, account: str, ref: str) -> str:
    builder = getattr(channel, "url_for", None)
    if callable(builder):
        return str(builder(ref=ref, platform=platform, account=account))
    return f"{getattr(channel, 'name', 'channel')}://{platform}/{account}/{ref}"


def record_exception(
    engine: Any, freeze: Mapping[str, Any], *, incident_id: str, step_id: str, details: Mapping[str, Any], audit: Any
) -> None:
    """The statement went out while the account is frozen: say so in this incident's trail, and
    in the freeze's own incident when that is another one."""
    payload = {"freeze": freeze["id"], "what": "approved statement", **details}
    audit("freeze.exception", payload)
    if freeze.get("incident_id") and freeze["incident_id"] != incident_id:
        from runbook.audit import append

        append(
            engine,
            incident_id=freeze["incident_id"],
            actor="system",
            channel="flow",
            action="freeze.exception",
            step=None,
            details={**payload, "incident": incident_id, "step": step_id},
        )
