"""Session fixtures shared by every test package: ONE Prefect test harness and one worker process
serving the respond and deadline deployments against it, exactly as in production (sign-offs are
suspends, so a flow run needs a deployment and a worker). Only tests that ask for `engine` pay for it.

Defined here, once: a fixture imported into several packages' conftests is a separate session
fixture in each, so each started its own harness and worker, and a flow run could reach the
worker of another package's database.
"""

from __future__ import annotations

import os

import pytest

from tests.engine.conftest import (
    PLUGIN,
    REPO,
    EngineEnv,
    engine_kinds,
    settings_env,
    start_worker,
    stop_worker,
    wait_for_deployments,
)


@pytest.fixture(scope="session")
def prefect_api():
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def engine(prefect_api, tmp_path_factory):
    from runbook.engine.services import build_services
    from runbook.settings import Settings

    workdir = tmp_path_factory.mktemp("engine")
    runbook_env = settings_env(workdir)
    env = {
        **os.environ,
        **runbook_env,
        "PREFECT_API_URL": prefect_api,
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    services = build_services(
        Settings(**{k.removeprefix("RUNBOOK_").lower(): v for k, v in runbook_env.items()}), migrate=True
    )
    services.kinds = engine_kinds()
    log = workdir / "worker.log"
    worker = start_worker(env=env, cwd=workdir, log=log)
    try:
        wait_for_deployments()
        yield EngineEnv(services=services, workdir=workdir, worker_log=log, env=env)
    finally:
        stop_worker(worker)
