"""The listening ledger: a standing incident whose audit trail records alerts raised outside any
incident (audit events belong to an incident; the post queue and the Slack app do the same)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from runbook import audit

LEDGER_PLAYBOOK = "listening"
LEDGER_TITLE = "Listening ledger"
ACTOR = "system:monitor"


def ledger_incident(engine: Engine) -> str:
    """The ledger's incident id, created on first use (race-free: `audit.ledger`)."""
    return audit.ledger(engine, LEDGER_PLAYBOOK, title=LEDGER_TITLE, actor=ACTOR)


def forget() -> None:
    """Nothing is cached any more; kept for callers that reset between databases."""
