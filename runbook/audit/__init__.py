"""The audit trail: incidents and their append-only, hash-chained, checkpointed event log.

Public names are re-exported here from small private-by-convention modules.
"""

from __future__ import annotations

from runbook.audit.chain import GENESIS_HASH, canonical_json
from runbook.audit.errors import IncidentNotFound
from runbook.audit.export import event_record, write_events
from runbook.audit.incidents import create_incident, get_incident, list_incidents, update_incident, update_incident_in
from runbook.audit.ledger import ledger, ledger_slug
from runbook.audit.models import CHANNELS, KINDS, STATUSES, AuditCheckpoint, AuditEvent, Incident
from runbook.audit.store import append, append_in, append_once, checkpoint, checkpoints, events, record_checkpoint
from runbook.audit.verify import Problem, VerifyReport, verify

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
