"""Listening: mentions ingested, scored and stored; spike alerts that can start a playbook; the
impact assessment; and the acknowledgements of the people convened for an incident.

Public names are re-exported here; `mentions_in_window` is the contract for finding everyone who
spoke about the brand in a window (docs/listening.md).
"""

from __future__ import annotations

from runbook.listen.alerts import (
    Alert,
    AlertAction,
    AlertBusy,
    AlertOutcome,
    get_alert,
    list_alerts,
    process_check,
    resolve_alert,
    start_from_alert,
)
from runbook.listen.assess import SEVERITIES, Assessment, assess
from runbook.listen.config import ConfigError, ListeningConfig, load_config
from runbook.listen.convene import AckRequest, Escalation, ack_status, acknowledge, escalate_overdue, request_acks
from runbook.listen.importer import ImportReport, import_mentions, parse_map
from runbook.listen.ingest import IngestResult, ingest_channel
from runbook.listen.language import detect_language
from runbook.listen.model import NewMention, StoredMention
from runbook.listen.monitor import Tick, run_once
from runbook.listen.sentiment import SentimentAnalyzer, default_analyzer, load_analyzer
from runbook.listen.spikes import Check, SpikeRule, check_spike
from runbook.listen.store import mentions_in_window, store_mentions

__all__ = [
    "AckRequest",
    "Alert",
    "AlertAction",
    "AlertBusy",
    "AlertOutcome",
    "Assessment",
    "Check",
    "ConfigError",
    "Escalation",
    "ImportReport",
    "IngestResult",
    "ListeningConfig",
    "NewMention",
    "SEVERITIES",
    "SentimentAnalyzer",
    "SpikeRule",
    "StoredMention",
    "Tick",
    "ack_status",
    "acknowledge",
    "assess",
    "check_spike",
    "default_analyzer",
    "detect_language",
    "escalate_overdue",
    "get_alert",
    "import_mentions",
    "ingest_channel",
    "list_alerts",
    "load_analyzer",
    "load_config",
    "mentions_in_window",
    "parse_map",
    "process_check",
    "request_acks",
    "resolve_alert",
    "run_once",
    "start_from_alert",
    "store_mentions",
]
