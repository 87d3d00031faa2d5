"""The Prefect flows: `respond` runs an incident's playbook; `signoff-deadline` escalates a gate.

Composition only: the logic lives in `runbook.engine`.
"""
