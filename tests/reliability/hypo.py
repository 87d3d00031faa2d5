"""Hypothesis settings for the state machines: a bounded profile for CI (RUNBOOK_HYPOTHESIS unset or
"ci") and a long one (RUNBOOK_HYPOTHESIS=long) for a soak before a release:

    RUNBOOK_HYPOTHESIS=long .venv/bin/python -m pytest tests/reliability -k machine
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

PROFILES = {
    # CI: 25 machines of up to 30 steps each (a few seconds per machine file).
    "ci": {"max_examples": 25, "stateful_step_count": 30},
    "long": {"max_examples": 1000, "stateful_step_count": 60},
}


def machine_settings() -> settings:
    name = os.environ.get("RUNBOOK_HYPOTHESIS", "ci")
    if name not in PROFILES:
        raise ValueError(f"RUNBOOK_HYPOTHESIS must be one of {', '.join(PROFILES)}, got {name!r}")
    return settings(
        deadline=None,
        derandomize=name == "ci",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **PROFILES[name],
    )


# The long profile runs for many minutes: no per-test timeout then (pytest-timeout's 0).
TIMEOUT = pytest.mark.timeout(0 if os.environ.get("RUNBOOK_HYPOTHESIS") == "long" else 600)
