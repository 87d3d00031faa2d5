"""The Bolt app: `/crisis`, sign-off buttons and the two modals. Every listener acks in
milliseconds (parse, validate a form) and leaves the work to a lazy listener on a thread pool.

`create_app` wires the pieces (outbox, war rooms, sign-offs, relay) around one Services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from runbook.settings import Settings
from runbook.slack import commands as cmd
from runbook.slack import forms
from runbook.slack.access import Access, ReplayGuard
from runbook.slack.chat import INTERVAL_SECONDS, Outbox, SlackChat
from runbook.slack.client import make_client, webhook
from runbook.slack.crisis import START_SUBMIT, Crisis
from runbook.slack.quiet import AfterAcks, Quiet
from runbook.slack.refs import Refs
from runbook.slack.relay import ACKNOWLEDGE, Relay
from runbook.slack.signoffs import APPROVE, EDIT, REJECT, SUBMIT, Signoffs
from runbook.slack.warroom import WarRooms

log = logging.getLogger(__name__)


@dataclass
class SlackApp:
    bolt: App
    client: WebClient
    outbox: Outbox
    signoffs: Signoffs
    crisis: Crisis
    relay: Relay | None
    executor: ThreadPoolExecutor
    settings: Settings
    quiet: Quiet  # the HTTP server counts requests in it; work after acks waits for it

    def close(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        self.signoffs.access.flush()  # refusals held back by the flood limit
        self.executor.shutdown(wait=False, cancel_futures=True)


def _ephemeral(response_url: str | None, client: WebClient, *, channel: str | None, user: str | None):
    """reply(text, blocks=None): through response_url when there is one, else chat.postEphemeral."""

    def reply(text: str, blocks: list[dict] | None = None) -> None:
        try:
            if response_url:
                webhook(response_url).send(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            elif channel and user:
                client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        except Exception:  # noqa: BLE001 - the person just sees no answer; never crash the worker
            log.warning("could not answer %s", user, exc_info=True)

    return reply


def create_app(
    *,
    settings: Settings,
    services: Any,
    verbs: Any = None,
    client: WebClient | None = None,
    interval: float = INTERVAL_SECONDS,
    relay: bool = True,
    relay_interval: float = 1.0,
    echo: bool = True,
    private_rooms: bool = True,
    workers: int = 16,
    decision_wait: float = 30.0,
) -> SlackApp:
    if verbs is None:
        from runbook.engine import commands as verbs
    client = client or make_client(settings)
    quiet = Quiet()
    executor = AfterAcks(quiet, max_workers=workers, thread_name_prefix="runbook-slack")
    bolt = App(
        client=client,  # its token and base_url (a proxy or a fake) serve Bolt's auth.test too
        # Socket Mode needs none; Bolt's own check is a second line behind runbook.slack.http.
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else "",
        process_before_response=True,  # ack functions are quick; lazy functions do the work
        listener_executor=executor,
        ignoring_self_events_enabled=False,
    )
    # The app's collaborators, each passed by name: every class takes its own set, so the calls only look alike.
    outbox = Outbox(client, interval=interval)
    access = Access(db=services.db, roster=services.roster)
    refs_ = Refs(services.db)
    signoffs = Signoffs(
        services=services,
        verbs=verbs,
        client=client,
        outbox=outbox,
        refs_=refs_,
        access=access,
        decision_wait=decision_wait,
    )
    warrooms = WarRooms(
        client=client,
        outbox=outbox,
        db=services.db,
        roster=services.roster,
        private=private_rooms,
        ui_url=prefect_ui_url(),
    )
    relay_ = None
    if relay:
        state = services.settings.ensure_home() / "slack-relay.json"
        mode = "off" if echo is False or echo == "off" else settings.slack_audit_echo
        # By name, as the wiring above: the relay takes the built collaborators plus its own state file and pace.
        relay_ = Relay(
            services=services,
            warrooms=warrooms,
            signoffs=signoffs,
            outbox=outbox,
            state_path=state,
            interval=relay_interval,
            echo=mode,
            quiet=quiet,
        )
        signoffs.on_change = relay_.nudge
    crisis = Crisis(services=services, verbs=verbs, access=access, warrooms=warrooms, relay=relay_, client=client)
    # Messages the engine posts from this process (immediate steps) go straight to Slack.
    services.chat_factory = lambda *, services, incident_id: SlackChat(
        outbox=outbox, db=services.db, incident_id=incident_id, signoffs=signoffs
    )
    _listen(bolt, client=client, crisis=crisis, signoffs=signoffs)
    if relay_ is not None:
        relay_.start()
    return SlackApp(
        bolt=bolt,
        client=client,
        outbox=outbox,
        signoffs=signoffs,
        crisis=crisis,
        relay=relay_,
        executor=executor,
        settings=settings,
        quiet=quiet,
    )


def prefect_ui_url() -> str | None:
    """Where people open the Prefect UI (links in the pinned status); see
    runbook.engine.prefect_io.prefect_ui_url (the engine reads Prefect's settings, not Slack)."""
    from runbook.engine.prefect_io import prefect_ui_url as ui_url

    return ui_url()


def chat_factory(settings: Settings, *, verbs: Any = None) -> Callable[..., SlackChat]:
    """A `Services.chat_factory` that talks to Slack from any process, a worker's flow runs too.

    Not needed while `runbook serve` relays the audit trail (the default); with it the engine's
    messages and sign-off requests go out directly and the relay sees them delivered.
    """
    if verbs is None:
        from runbook.engine import commands as verbs
    client = make_client(settings)
    outbox = Outbox(client)

    def factory(*, services: Any, incident_id: str) -> SlackChat:
        signoffs = Signoffs(
            services=services,
            verbs=verbs,
            client=client,
            outbox=outbox,
            refs_=Refs(services.db),
            access=Access(db=services.db, roster=services.roster),
        )
        return SlackChat(outbox=outbox, db=services.db, incident_id=incident_id, signoffs=signoffs)

    return factory


def _listen(bolt: App, *, client: WebClient, crisis: Crisis, signoffs: Signoffs) -> None:
    # A slash command's trigger_id is unique per invocation: the same one again (Socket Mode
    # redelivery, a replay) is answered but never run twice.
    acked, ran = ReplayGuard(), ReplayGuard()

    def ack_command(ack, body):
        if body.get("trigger_id") and not acked.first(body["trigger_id"]):
            ack(response_type="ephemeral", text="This command was already received; it runs once.")
            return
        if "\x00" in (body.get("text") or ""):
            ran.first(body.get("trigger_id") or "")  # never run it
            ack(response_type="ephemeral", text="⚠️ The command text contains a NUL character; type it again.")
            return
        try:
            command = cmd.parse(body.get("text"))
        except cmd.ParseError as exc:
            ack(response_type="ephemeral", text=f"⚠️ {exc}")
            return
        if isinstance(command, cmd.Help):
            ack(response_type="ephemeral", text=cmd.HELP)
        elif isinstance(command, cmd.Start):
            ack(response_type="ephemeral", text=f"⏳ Starting `{command.playbook}`…")
        elif isinstance(command, cmd.Freeze):
            ack(response_type="ephemeral", text="⏳ Freezing…")
        else:
            ack()

    def run_command(body):
        if body.get("trigger_id") and not ran.first(body["trigger_id"]):
            return
        try:
            command = cmd.parse(body.get("text"))
        except cmd.ParseError:
            return  # answered in the ack
        if isinstance(command, cmd.Help):
            return
        reply = _ephemeral(body.get("response_url"), client, channel=body.get("channel_id"), user=body.get("user_id"))
        with _told(reply, f"/crisis {(body.get('text') or '').split(' ', 1)[0]}"):
            crisis.run(
                command,
                slack_user=body.get("user_id", ""),
                trigger_id=body.get("trigger_id"),
                response_url=body.get("response_url"),
                reply=reply,
            )

    bolt.command(cmd.COMMAND)(ack=ack_command, lazy=[run_command])

    def ack_click(ack):
        ack()

    def run_click(body):
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        reply = _ephemeral(body.get("response_url"), client, channel=(body.get("channel") or {}).get("id"), user=user)
        # The trigger id is unique per click and identical in a replayed request.
        dedupe = f"click:{body.get('trigger_id') or action.get('action_ts')}"
        with _told(reply, "your click"):
            signoffs.on_click(
                action_id=action.get("action_id", ""),
                token=str(action.get("value", "")),
                slack_user=user,
                trigger_id=body.get("trigger_id"),
                dedupe=dedupe,
                reply=reply,
            )

    for action_id in (APPROVE, EDIT, REJECT):
        bolt.action(action_id)(ack=ack_click, lazy=[run_click])

    def run_acknowledge(body):
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        reply = _ephemeral(body.get("response_url"), client, channel=(body.get("channel") or {}).get("id"), user=user)
        crisis.acknowledge(incident_id=str(action.get("value", "")), slack_user=user, reply=reply)

    bolt.action(ACKNOWLEDGE)(ack=ack_click, lazy=[run_acknowledge])

    def run_resume(body):
        from runbook.slack.resume import on_resume_click

        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        reply = _ephemeral(body.get("response_url"), client, channel=(body.get("channel") or {}).get("id"), user=user)
        on_resume_click(
            services=signoffs.services,
            access=signoffs.access,
            token=str(action.get("value", "")),
            slack_user=user,
            reply=reply,
            resume=getattr(signoffs.verbs, "resume", None),
        )

    from runbook.slack.resume import RESUME

    bolt.action(RESUME)(ack=ack_click, lazy=[run_resume])

    def run_signoff_form(body):
        view = body.get("view") or {}
        state = view.get("state", {}).get("values", {})
        ref, values, errors = signoffs.validate(view.get("private_metadata", ""), state)
        if ref is None or errors:
            return
        user = (body.get("user") or {}).get("id", "")
        reply = _ephemeral(None, client, channel=ref.channel, user=user)
        person = signoffs.access.person(user)
        if person is None:
            signoffs.access.refuse(
                slack_user=user,
                what="signoff.submit",
                incident_id=ref.incident_id,
                step=ref.step,
                reason="not in the roster",
            )
            reply("You are not in the incident roster, so your answer was not counted (and was recorded).")
            return
        with _told(reply, "your sign-off"):
            signoffs.decide(
                ref,
                person_id=person.id,
                approve=True,
                fields=values,
                comment=forms.comment(state),
                dedupe=f"view:{view.get('id')}",
                reply=reply,
            )

    bolt.view(SUBMIT)(ack=_form_ack(signoffs.validate, "This sign-off is no longer open"), lazy=[run_signoff_form])

    def run_start_form(body):
        view = body.get("view") or {}
        token = view.get("private_metadata", "")
        pending, values, errors = crisis.validate_form(token, view.get("state", {}).get("values", {}))
        if pending is None or errors:
            return
        user = (body.get("user") or {}).get("id", "")
        reply = _ephemeral(pending.response_url, client, channel=None, user=user)
        with _told(reply, "the start form"):
            crisis.submit_form(token, values, slack_user=user, reply=reply)

    bolt.view(START_SUBMIT)(
        ack=_form_ack(crisis.validate_form, "This form expired; type /crisis start again"), lazy=[run_start_form]
    )

    @bolt.error
    def on_error(error, logger):
        # No body or headers here: they can hold the verification token.
        logger.warning("listener failed: %s: %s", type(error).__name__, error)


@contextmanager
def _told(reply: Callable[[str], None], what: str) -> Iterator[None]:
    """Work after an ack that fails unexpectedly is told to the person in one sentence (the
    details go to the log, where secrets are redacted), never left at "Freezing…"."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001
        log.warning("%s failed after the ack: %s", what, type(exc).__name__, exc_info=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        reply(
            f"⚠️ {what} failed: {type(exc).__name__}{': ' + reason if reason else ''}. "
            "Nothing more was done; the app's log has the details."
        )


FormCheck = Callable[[str, dict[str, Any]], tuple[object | None, dict, dict]]


def _form_ack(validate: FormCheck, gone: str) -> Callable[..., None]:
    """A modal submission's ack: the form's errors by block, `gone` when its token no longer
    resolves (validate gives None), else a plain ack that closes the modal."""

    def ack_form(ack: Any, body: dict[str, Any]) -> None:  # Bolt passes arguments by these names
        view = body.get("view") or {}
        found, _, errors = validate(view.get("private_metadata", ""), view.get("state", {}).get("values", {}))
        if found is None:
            ack(response_action="errors", errors={_first_block(view): gone})
        elif errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    return ack_form


def _first_block(view: dict) -> str:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return forms.COMMENT_BLOCK
