"""Crisis-response runbook orchestrator: playbooks, sign-offs and an audit trail for brand crises."""

__version__ = "0.1.0"
