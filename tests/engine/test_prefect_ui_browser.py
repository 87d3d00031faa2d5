"""The Prefect UI in headless Chromium, served by `runbook server` on a port that is not 4200: it
shows the incident's flow run, its Resume form has the typed fields people fill in (and not the
engine's), a refused submission shows its reason in the next form, and an approval made there is
recorded with channel `prefect-ui`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from runbook.engine.localserver import free_port, healthy
from tests.browser import browser, needs_chromium
from tests.engine.conftest import REPO, settings_env, start_worker, stop_worker

pytestmark = [pytest.mark.prefect, pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`runbook server --port P` (P free, not 4200) and a worker against it; yields (url, services)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from runbook.engine.prefect_io import wait_for_deployments
    from runbook.engine.services import build_services
    from runbook.settings import Settings

    work = tmp_path_factory.mktemp("ui")
    port = free_port(4311)
    assert port != 4200
    runbook_env = settings_env(work)
    env = {
        **os.environ,
        **runbook_env,
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    for name in ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_UI_API_URL"):
        env.pop(name, None)
    log = open(work / "server.log", "ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "runbook.cli.main", "server", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    worker = None
    try:
        end = time.monotonic() + 180
        while not healthy(f"{url}/api", timeout=2):
            assert server.poll() is None and time.monotonic() < end, (work / "server.log").read_text()[-2000:]
            time.sleep(0.5)
        worker = start_worker(
            env={**env, "PREFECT_API_URL": f"{url}/api", "PREFECT_LOGGING_TO_API_ENABLED": "true"},
            cwd=work,
            log=work / "worker.log",
        )
        with temporary_settings(updates={PREFECT_API_URL: f"{url}/api"}):
            wait_for_deployments(120)
            services = build_services(
                Settings(**{k.removeprefix("RUNBOOK_").lower(): v for k, v in runbook_env.items()}), migrate=True
            )
            yield url, services, work
    finally:
        if worker is not None:
            stop_worker(worker)
        stop_worker(server)


# A submitted form resumes the run in a new flow process, which the worker starts on its next
# poll: on a loaded 2-core CI machine that alone has taken over a minute.
def _wait(predicate, what: str, timeout: float = 240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {timeout}s")


def _open_form(page, url: str, flow_run_id: str, slug: str):
    page.goto(f"{url}/runs/flow-run/{flow_run_id}")
    page.get_by_text(slug).first.wait_for(timeout=60_000)  # the UI reached the API on this port
    page.get_by_role("button", name="Resume").click()
    card = page.locator(".p-modal__card")
    card.get_by_text("Your roster id", exact=True).wait_for(timeout=30_000)
    return card


def _property(card, label: str):
    return card.locator(".schema-form-property").filter(has=card.page.get_by_text(label, exact=True))


def _submit(card, *, person: str, choice: str) -> None:
    _property(card, "Your roster id").locator("textarea").fill(person)
    control = _property(card, "Your decision").locator("button.p-select-button__control")
    # The select's popover sometimes does not open on the first click on a loaded machine: retry,
    # then open it from the keyboard.
    for attempt in range(4):
        if attempt % 2:
            control.press("ArrowDown")
        else:
            control.click()
        try:
            card.page.get_by_role("option", name=choice).click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - try the next way of opening it
            if attempt == 3:
                raise
    card.get_by_role("button", name="Submit").click()


def test_the_ui_form_its_refusal_reason_and_an_approval_recorded_as_prefect_ui(ui):
    from runbook.audit import events, get_incident
    from runbook.engine import commands
    from runbook.engine.prefect_io import view

    url, services, work = ui
    # The server hands the UI its own address, not 127.0.0.1:4200.
    with urllib.request.urlopen(f"{url}/ui-settings", timeout=10) as response:  # noqa: S310 - loopback
        assert json.loads(response.read())["api_url"] == f"{url}/api"
    started = commands.start(
        services=services,
        playbook_ref="t-gate",
        inputs={"summary": "browser test"},
        requester="ron",
        title="Browser test",
    )
    incident, run_id = started.incident, started.flow_run_id
    _wait(lambda: view(run_id).waiting_for == "go-ahead", "suspended run")

    with browser() as chrome:
        page = chrome.new_page(viewport={"width": 1400, "height": 1000})
        card = _open_form(page, url, run_id, incident.slug)
        text = card.inner_text()
        # Typed fields; required ones are not marked (Optional); the engine's fields are not there.
        assert "Approve (Optional)" in text and "Comment (Optional)" in text
        assert "Your roster id (Optional)" not in text and "Your decision (Optional)" not in text
        labels = [t.strip() for t in card.locator(".schema-form-property__label").all_inner_texts()]
        assert not {"channel", "escalate", "decision_id", "seal", "Channel", "Escalate"} & set(labels), labels
        assert "Go ahead with browser test?" in text

        _submit(card, person="mallory", choice="proceed")
        _wait(lambda: any(e.action == "signoff.refused" for e in events(services.db, incident.id)), "refusal")
        _wait(lambda: view(run_id).round == 1, "the second wait")
        card = _open_form(page, url, run_id, incident.slug)
        assert "Your last decision was not counted" in card.inner_text()
        assert "'mallory' is not in the roster" in card.inner_text()

        _submit(card, person="alma", choice="hold")
        closed = _wait(
            lambda: (i := get_incident(services.db, incident.id)).status in ("completed", "failed") and i, "the close"
        )
        assert closed.status == "completed"
        page.close()
    approved = [e for e in events(services.db, incident.id) if e.action == "signoff.approved"]
    assert [(e.actor, e.channel, e.details["fields"]) for e in approved] == [("alma", "prefect-ui", {"choice": "hold"})]
    refused = [e for e in events(services.db, incident.id) if e.action == "signoff.refused"]
    assert [(e.actor, e.channel) for e in refused] == [("mallory", "prefect-ui")]
