"""Drill test fixtures: the shipped scenarios loaded once, and (for the live drill) the engine tests'
one Prefect harness and worker and the Slack tests' fake Slack (imported fixtures, not copies)."""

from __future__ import annotations

import pytest

from tests.slack.conftest import fake  # noqa: F401 - the local fake Slack Web API


@pytest.fixture(scope="session")
def scenarios():
    from runbook.drill.scenario import load_scenario, scenario_files

    return {path.stem: load_scenario(path) for path in scenario_files()}
