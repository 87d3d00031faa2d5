"""The playbook engine: runs a plan as a Prefect flow (steps as tasks, sign-offs as suspends),
authorises every decision against the roster, and records everything in the audit trail.

Submodules import Prefect; the CLI imports them inside command functions only.
"""
