"""Repairing missing audit events of the post queue (`runbook recover`). Since revision 0005_w13 a
freeze or a thaw commits with its audit events; a database written by an earlier version may hold
a freeze or an applied thaw whose events a crash lost between the commit and the append.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook import audit
from runbook.queue import ledger
from runbook.queue.freeze import _ensure_audited, get_freeze
from runbook.queue.tables import freezes, thaw_items, thaws

__all__ = ["repair_audit"]


def repair_audit(engine: Engine) -> list[str]:
    """Append what is missing, marked `repaired`; returns one line per repair."""
    done: list[str] = []
    with engine.connect() as connection:
        unaudited = list(connection.execute(sa.select(freezes.c.id).where(freezes.c.audit_seq.is_(None))).scalars())
        applied = connection.execute(
            sa.select(thaws.c.id, thaws.c.freeze_id, thaws.c.approved_by, freezes.c.incident_id)
            .select_from(thaws.join(freezes, freezes.c.id == thaws.c.freeze_id))
            .where(thaws.c.status == "applied")
        ).all()
    for freeze_id in unaudited:
        _ensure_audited(engine, get_freeze(engine, freeze_id), step=None)
        done.append(f"freeze {freeze_id}: freeze.created appended")
    recorded: dict[str, set[str]] = {}
    for thaw in applied:
        trail = ledger.target(engine, thaw.incident_id)
        if trail not in recorded:
            recorded[trail] = {
                str((e.details or {}).get("thaw")) for e in audit.events(engine, trail) if e.action == "thaw.applied"
            }
        if thaw.id in recorded[trail]:
            continue
        with engine.connect() as connection:
            outcomes = Counter(
                o.split(":")[0]
                for o in connection.execute(
                    sa.select(thaw_items.c.outcome).where(thaw_items.c.thaw_id == thaw.id)
                ).scalars()
                if o
            )
        ledger.record(
            engine,
            incident_id=trail,
            actor=thaw.approved_by or "system",
            channel="flow",
            action="thaw.applied",
            details={"thaw": thaw.id, "freeze": thaw.freeze_id, "outcomes": dict(outcomes), "repaired": True},
        )
        done.append(f"thaw {thaw.id}: thaw.applied appended")
    return done
