"""Every call the product makes to the Prefect API outside a flow: create the respond run, find
which sign-off a run waits for, resume it with a decision, cancel, schedule and fire deadlines.

Run inputs are built here from validated scalars only: the server hydrates `run_input`
(`{"__prefect_kind": ...}` values are rendered), so nothing a user typed is forwarded as a dict.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from runbook.errors import Conflict

RESPOND_FLOW = "respond"
DEADLINE_FLOW = "signoff-deadline"
DEPLOYMENT_NAME = "runbook"
RESPOND_DEPLOYMENT = f"{RESPOND_FLOW}/{DEPLOYMENT_NAME}"
DEADLINE_DEPLOYMENT = f"{DEADLINE_FLOW}/{DEPLOYMENT_NAME}"

_WAIT_KEY = re.compile(r"^signoff-(?P<step>[a-z0-9]+(?:-[a-z0-9]+)*)-(?P<round>\d+)$")
DECISION_CHANNELS = ("slack", "cli", "ui", "flow")
# A decision that reached Prefect's API without the engine's seal: the UI form (or anyone with
# API access). Prefect OSS records no identity, so the roster id given there is only a claim.
UI_CHANNEL = "prefect-ui"


class NotAwaiting(Conflict, RuntimeError):
    """The run does not wait for a sign-off of that step (now, or within the wait allowed)."""


def prefect_ui_url() -> str | None:
    """Where people open the Prefect UI (links in the pinned status): PREFECT_UI_URL, else the
    API's address without `/api` (what `runbook server` and `runbook worker` set up)."""
    from runbook.settings import PrefectSettings

    prefect = PrefectSettings.from_env()  # now: `runbook worker` exports these after Settings()
    if prefect.ui_url:
        return prefect.ui_url
    api = prefect.api_url
    if not api:
        import sys

        if "prefect" not in sys.modules:
            return None
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

        ui, api = PREFECT_UI_URL.value(), PREFECT_API_URL.value()
        if ui:
            return str(ui)
        if not api:
            return None
    from runbook.engine.localserver import ui_url_from_api

    return ui_url_from_api(api)


def wait_key(step_id: str, round_: int) -> str:
    return f"signoff-{step_id}-{round_}"


def parse_wait_key(key: str | None) -> tuple[str, int] | None:
    match = _WAIT_KEY.match(key or "")
    return (match["step"], int(match["round"])) if match else None


@dataclass(frozen=True)
class RunView:
    id: str
    state_type: str  # SCHEDULED, PENDING, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED, CRASHED, ...
    state_name: str
    waiting_for: str | None  # step id of the sign-off it is suspended on
    round: int | None

    @property
    def final(self) -> bool:
        return self.state_type in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def view(flow_run_id: str, *, client=None) -> RunView:
    def read(c) -> RunView:
        run = c.read_flow_run(UUID(str(flow_run_id)))
        state = run.state
        waiting = None
        if state is not None and state.type.value == "PAUSED":
            waiting = parse_wait_key(state.state_details.pause_key)
        return RunView(
            id=str(run.id),
            state_type=state.type.value if state else "UNKNOWN",
            state_name=state.name if state else "",
            waiting_for=waiting[0] if waiting else None,
            round=waiting[1] if waiting else None,
        )

    if client is not None:
        return read(client)
    with _client() as c:
        return read(c)


def start_respond_run(*, incident_id: str, slug: str, key: str | None = None, tags: tuple[str, ...] = ()) -> str:
    """Create the respond flow run for a worker to pick up; returns at once (~0.1 s). `key`: the
    idempotency key (one run per incident; a resume passes its own, one run per resume); `tags`:
    extra Prefect tags (a drill's `drill`)."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    run = run_deployment(
        RESPOND_DEPLOYMENT,
        parameters={"incident_id": incident_id},
        timeout=0,
        flow_run_name=slug,
        tags=["runbook", *tags],
        idempotency_key=key or f"respond-{incident_id}",
        as_subflow=False,
    )
    if not isinstance(run, FlowRun):  # a coroutine only when called inside an event loop
        raise RuntimeError("start_respond_run is synchronous: call it outside an event loop")
    return str(run.id)


def _decision_key() -> bytes:
    """The key sealing the engine's own decisions: RUNBOOK_DECISION_KEY (set it on every host in
    production), else a random key kept in RUNBOOK_HOME/decision.key, created on first use."""
    from runbook.settings import Settings, SignoffSettings

    key = SignoffSettings.from_env().decision_key
    if key is not None:
        return key.get_secret_value().encode()

    path = Settings().ensure_home() / "decision.key"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
        try:
            os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip().encode()


def seal(*, approve: bool, person: str, channel: str, escalate: bool, decision_id: str) -> str:
    message = "|".join((decision_id, channel, person, str(int(approve)), str(int(escalate))))
    return hmac.new(_decision_key(), message.encode(), hashlib.sha256).hexdigest()


def check_seal(given: str, **fields: Any) -> bool:
    if not given:
        return False
    try:
        return hmac.compare_digest(given, seal(**fields))
    except OSError:  # no key readable here: nothing can be trusted as sealed
        return False


# Keyword-only like step_markdown's and start_from_alert's signatures, which duplicates pairs by shape:
# the fields of one sealed run input, each named so a caller cannot swap two strings.
def decision_input(
    *,
    approve: bool,
    person: str,
    channel: str,
    comment: str = "",
    fields: Mapping[str, Any] | None = None,
    escalate: bool = False,
    decision_id: str | None = None,
) -> dict[str, Any]:
    """The run input of a decision, from scalars (and lists of strings) only."""
    if channel not in DECISION_CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(DECISION_CHANNELS)}")
    out: dict[str, Any] = {
        "approve": bool(approve),
        "person": str(person),
        "channel": channel,
        "comment": str(comment or ""),
        "escalate": bool(escalate),
        "decision_id": decision_id or uuid4().hex,
    }
    out["seal"] = seal(
        approve=out["approve"],
        person=out["person"],
        channel=channel,
        escalate=out["escalate"],
        decision_id=out["decision_id"],
    )
    for name, value in (fields or {}).items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            out[str(name)] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[str(name)] = list(value)
        else:
            raise ValueError(f"field {name}: only text, numbers, true/false or a list of text")
    return out


def send_decision(
    *, flow_run_id: str, step_id: str, run_input: dict[str, Any], wait: float = 30.0, poll: float = 0.25
) -> RunView:
    """Resume the run with `run_input` once it waits on `step_id`'s sign-off.

    Waits up to `wait` seconds for that, because a run may be between two waits (a quorum's
    second approval arriving while the first is being recorded). Raises NotAwaiting otherwise.
    """
    from prefect.client.schemas.responses import SetStateStatus

    deadline = time.monotonic() + wait
    with _client() as client:
        while True:
            current = view(flow_run_id, client=client)
            if current.waiting_for == step_id:
                completed = _complete(client, flow_run_id, run_input)
                if completed is None:  # suspended, but its form is not stored yet
                    if time.monotonic() >= deadline:
                        raise NotAwaiting(f"step {step_id} awaits sign-off, but its form was never stored")
                    time.sleep(poll)
                    continue
                try:
                    response = client.resume_flow_run(UUID(flow_run_id), run_input=completed)
                except Exception as exc:  # noqa: BLE001 - a server error (SQLite busy): try again
                    if time.monotonic() >= deadline or not _transient(exc):
                        raise
                    time.sleep(poll)
                    continue
                if response.status == SetStateStatus.ACCEPT:
                    return current
                reason = getattr(response.details, "reason", "") or ""
                # "Run input schema not found": the run is marked suspended a moment before its
                # form is stored; try again. A value that does not fit the form is final.
                if reason.startswith(("Reason:", "Error hydrating", "Invalid schema")):
                    raise ValueError(f"Prefect refused the decision: {reason}")
            elif current.final:
                raise NotAwaiting(f"the run is {current.state_name.lower()}; nothing awaits sign-off")
            elif current.waiting_for is not None:
                raise NotAwaiting(f"step {step_id} is not awaiting sign-off (waiting: {current.waiting_for})")
            if time.monotonic() >= deadline:
                raise NotAwaiting(f"step {step_id} is not awaiting sign-off (the run is {current.state_name.lower()})")
            time.sleep(poll)


def _complete(client: Any, flow_run_id: str, run_input: dict[str, Any]) -> dict[str, Any] | None:
    """The form's required fields are required of people in the UI; a rejection or an escalation
    does not choose among them, so it gets a neutral value the flow ignores. An approval missing
    one is refused here with its name (the server would only say the schema failed). None while
    the form is not stored yet."""
    import json

    try:
        state = client.read_flow_run(UUID(flow_run_id)).state
        key = state.state_details.run_input_keyset["schema"]
        schema = json.loads(client.read_flow_run_input(UUID(flow_run_id), key))
    except Exception:  # noqa: BLE001 - the run is marked suspended a moment before its form is stored
        return None
    missing = [n for n in schema.get("required") or [] if n not in run_input]
    if not missing:
        return run_input
    if run_input.get("approve") and not run_input.get("escalate"):
        raise ValueError(f"this sign-off needs {', '.join(missing)} (give it with --field NAME=VALUE)")
    out = dict(run_input)
    defs = schema.get("definitions") or schema.get("$defs") or {}
    for name in missing:
        prop = schema["properties"].get(name, {})
        ref = (prop.get("allOf") or [prop])[0].get("$ref") or prop.get("$ref")
        target = defs.get(ref.rsplit("/", 1)[-1], {}) if ref else prop
        if target.get("enum"):
            out[name] = target["enum"][0]
        else:
            out[name] = {"boolean": False, "integer": 0, "number": 0, "array": []}.get(target.get("type"), "")
    return out


def _transient(exc: Exception) -> bool:
    """A 5xx or a dropped connection: if the resume did land after all, the repeated decision
    carries the same decision_id and the flow refuses it as already received."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status is None or status >= 500


def cancel_run(flow_run_id: str) -> None:
    """Cancel the run: a suspended run holds no process and is set Cancelled directly; a running
    one goes Cancelling, which its worker turns into a kill."""
    from prefect.states import Cancelled, Cancelling

    with _client() as client:
        run = client.read_flow_run(UUID(flow_run_id))
        if run.state is not None and run.state.is_final():
            return
        if run.state is not None and run.state.type.value in ("RUNNING", "PENDING"):
            client.set_flow_run_state(UUID(flow_run_id), Cancelling(message="cancelled by runbook"), force=True)
        else:
            client.set_flow_run_state(UUID(flow_run_id), Cancelled(message="cancelled by runbook"), force=True)


# -- deadlines -------------------------------------------------------------------------------


def schedule_deadline(*, flow_run_id: str, step_id: str, phase: int, at: datetime, slug: str, review: int = 0) -> str:
    """A run of the deadline flow, scheduled at `at`; idempotent per (run, step, phase).

    Prefect holds it (it survives worker restarts, and any worker may fire it); it resumes the
    respond run with an `escalate` decision, which the flow honours only after the deadline.
    """
    from prefect.deployments import run_deployment

    run = _retrying(
        lambda: run_deployment(
            DEADLINE_DEPLOYMENT,
            parameters={"flow_run_id": flow_run_id, "step_id": step_id, "phase": phase},
            scheduled_time=at,
            timeout=0,
            flow_run_name=(f"deadline-{slug}-{step_id}-{phase}" + (f"-review-{review}" if review else ""))[:120],
            tags=["runbook", "deadline"],
            idempotency_key=f"deadline-{flow_run_id}-{step_id}-{phase}" + (f"-review-{review}" if review else ""),
            as_subflow=False,
        )
    )
    return str(run.id)


def _retrying(call, attempts: int = 4, pause: float = 1.0):
    """A busy server's 503 (SQLite locked) must not fail an incident: the idempotency key makes a
    repeated create return the same run."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - only transient errors are tried again
            if attempt == attempts - 1 or not _transient(exc):
                raise
            time.sleep(pause * (attempt + 1))


def drop_deadline(deadline_run_id: str | None) -> None:
    """The gate was answered: the scheduled deadline run is no longer needed."""
    if not deadline_run_id:
        return
    try:
        with _client() as client:
            run = client.read_flow_run(UUID(deadline_run_id))
            # Only a run still waiting for its time: one already starting fires and finds nothing
            # to escalate, and deleting a starting run makes the server wait on it.
            if run.state is not None and run.state.type.value == "SCHEDULED":
                client.delete_flow_run(UUID(deadline_run_id))
    except Exception:  # noqa: BLE001 - already fired or gone; firing late is harmless
        pass


def fire_deadline(*, flow_run_id: str, step_id: str, phase: int) -> str:
    """Body of the deadline flow: escalate the gate if the run still waits on it."""
    current = view(flow_run_id)
    if current.waiting_for != step_id:
        return f"nothing to do: the run waits for {current.waiting_for or 'no sign-off'}"
    run_input = decision_input(
        approve=False,
        person="",
        channel="flow",
        escalate=True,
        comment=f"deadline of phase {phase} passed",
        decision_id=f"deadline-{phase}-{uuid4().hex[:8]}",
    )
    try:
        send_decision(flow_run_id=flow_run_id, step_id=step_id, run_input=run_input, wait=10)
    except NotAwaiting as exc:
        return f"nothing to do: {exc}"
    return f"escalated {step_id} (phase {phase})"


def wait_for_deployments(timeout: float = 60) -> None:
    """Block until a worker has registered the respond and deadline deployments; TimeoutError if not."""
    from prefect.client.orchestration import get_client

    end = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                client.read_deployment_by_name(RESPOND_DEPLOYMENT)
                client.read_deployment_by_name(DEADLINE_DEPLOYMENT)
                return
            except Exception:  # noqa: BLE001 - not registered yet
                if time.monotonic() > end:
                    raise TimeoutError(f"no worker registered its deployments within {timeout:.0f} s") from None
                time.sleep(0.3)
