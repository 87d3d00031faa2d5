"""The audit trail: incidents and their append-only, hash-chained, checkpointed event log.

Public names are re-exported here from small private-by-convention modules. The chain and its
verification load at once; the rest (SQLModel tables and what uses them) on first use, so the
post-mortem's verifying process (verify_apart) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.audit.chain import GENESIS_HASH, canonical_json
from runbook.audit.errors import IncidentNotFound

# Imported here, not lazily: `verify` names both this function and its module, and a later first
# import of the module would set the package's attribute to the module.
from runbook.audit.verify import Problem, VerifyReport, verify
from runbook.lazy import exports

# name -> module that defines it, loaded on first use (no name here is also a submodule's: a
# submodule's first import sets the package attribute of its name)
_LAZY = {
    "event_record": "runbook.audit.export",
    "write_events": "runbook.audit.export",
    "create_incident": "runbook.audit.incidents",
    "get_incident": "runbook.audit.incidents",
    "list_incidents": "runbook.audit.incidents",
    "update_incident": "runbook.audit.incidents",
    "update_incident_in": "runbook.audit.incidents",
    "ledger": "runbook.audit.ledgers",
    "ledger_slug": "runbook.audit.ledgers",
    "CHANNELS": "runbook.audit.models",
    "KINDS": "runbook.audit.models",
    "STATUSES": "runbook.audit.models",
    "AuditCheckpoint": "runbook.audit.models",
    "AuditEvent": "runbook.audit.models",
    "Incident": "runbook.audit.models",
    "append": "runbook.audit.store",
    "append_in": "runbook.audit.store",
    "append_once": "runbook.audit.store",
    "checkpoint": "runbook.audit.store",
    "checkpoints": "runbook.audit.store",
    "events": "runbook.audit.store",
    "record_checkpoint": "runbook.audit.store",
}

if TYPE_CHECKING:
    from runbook.audit.export import event_record, write_events
    from runbook.audit.incidents import (
        create_incident,
        get_incident,
        list_incidents,
        update_incident,
        update_incident_in,
    )
    from runbook.audit.ledgers import ledger, ledger_slug
    from runbook.audit.models import CHANNELS, KINDS, STATUSES, AuditCheckpoint, AuditEvent, Incident
    from runbook.audit.store import (
        append,
        append_in,
        append_once,
        checkpoint,
        checkpoints,
        events,
        record_checkpoint,
    )


__getattr__ = exports(__name__, _LAZY, globals())

__all__ = [
    "AuditCheckpoint",
    "AuditEvent",
    "CHANNELS",
    "GENESIS_HASH",
    "Incident",
    "IncidentNotFound",
    "KINDS",
    "Problem",
    "STATUSES",
    "VerifyReport",
    "append",
    "append_in",
    "append_once",
    "canonical_json",
    "checkpoint",
    "checkpoints",
    "create_incident",
    "event_record",
    "events",
    "get_incident",
    "ledger",
    "ledger_slug",
    "list_incidents",
    "record_checkpoint",
    "update_incident",
    "update_incident_in",
    "verify",
    "write_events",
]
