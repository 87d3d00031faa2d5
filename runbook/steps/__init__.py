"""Step kinds: one module per kind, each a typed parameter model and a function over the ports.

Modules here must not import Prefect, Slack or the database at import time: `runbook check`
loads the registry to validate `with:` parameters.
"""
