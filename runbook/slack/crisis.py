"""The work behind `/crisis` once Slack has its ack: start (with a form when the playbook needs more
inputs), freeze, status and list, each answering through `reply` (ephemeral) with what to type next.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook.audit import events, get_incident
from runbook.slack import access as acc
from runbook.slack import blocks as bk
from runbook.slack import commands as cmd
from runbook.slack import forms, refs
from runbook.slack.status import status_blocks
from runbook.spec.models import coerce_field_value

log = logging.getLogger(__name__)

START_SUBMIT = "start.submit"
FORM_TTL_SECONDS = 30 * 60  # as long as the slash command's response_url lives
Reply = Callable[..., None]  # reply(text, blocks=None)


@dataclass
class PendingStart:
    playbook: str
    slack_user: str
    response_url: str | None
    expires: float


def input_name(playbook: Any, key: str) -> str | None:
    """The playbook input a `key=value` word sets: its own name, or `post` for its link input
    (the offending post: the first input of type url)."""
    if key in playbook.inputs:
        return key
    if key in ("post", "url", "link"):
        return next((n for n, f in playbook.inputs.items() if getattr(f.type, "value", f.type) == "url"), None)
    return None


class Crisis:
    def __init__(self, *, services: Any, verbs: Any, access: acc.Access, warrooms: Any, relay: Any, client: Any):
        # Plain wiring, alike in shape to Signoffs.__init__: the two hold different collaborators.
        self.services = services
        self.verbs = verbs
        self.access = access
        self.warrooms = warrooms
        self.relay = relay
        self.client = client
        self._forms: dict[str, PendingStart] = {}
        self._listing: tuple[tuple, str] | None = None
        self._lock = threading.Lock()

    def run(
        self, command: cmd.Command, *, slack_user: str, trigger_id: str | None, response_url: str | None, reply: Reply
    ) -> None:
        if isinstance(command, cmd.Help):
            reply(cmd.HELP)
        elif isinstance(command, (cmd.ListPlaybooks, cmd.Status)):
            # Incidents and playbooks are for the crisis team: the roster, not the whole workspace.
            if self.access.person(slack_user) is None:
                what = "list" if isinstance(command, cmd.ListPlaybooks) else "status"
                self.access.refuse(slack_user=slack_user, what=what, reason="not in the roster")
                reply(
                    "You are not in the incident roster, so you cannot see incidents or playbooks (the attempt "
                    "was recorded). Ask the comms lead to add your Slack id to roster.yaml."
                )
            elif isinstance(command, cmd.ListPlaybooks):
                reply(self.list_text())
            else:
                text, blocks = self.status(command.incident)
                reply(text, blocks=blocks)
        elif isinstance(command, cmd.Start):
            self.start(command, slack_user=slack_user, trigger_id=trigger_id, response_url=response_url, reply=reply)
        elif isinstance(command, cmd.Freeze):
            self.freeze(command, slack_user=slack_user, reply=reply)
        elif isinstance(command, cmd.Cancel):
            self.cancel(command, slack_user=slack_user, reply=reply)

    # -- who may ----------------------------------------------------------------------------------------
    def _starter(self, slack_user: str, what: str, reply: Reply):
        person = self.access.person(slack_user)
        if person is None:
            self.access.refuse(slack_user=slack_user, what=what, reason="not in the roster")
            reply(
                "You are not in the incident roster, so you cannot do that (the attempt was recorded). "
                "Ask the comms lead to add your Slack id to roster.yaml."
            )
            return None
        if not person.can_start:
            self.access.refuse(slack_user=slack_user, what=what, reason="can_start is false in the roster")
            reply(
                f"{bk.escape(person.name)}, the roster does not let you start incidents (the attempt was "
                "recorded). Ask a comms lead to run `/crisis start` for you."
            )
            return None
        return person

    # -- start ------------------------------------------------------------------------------------------
    def start(
        self, command: cmd.Start, *, slack_user: str, trigger_id: str | None, response_url: str | None, reply: Reply
    ) -> None:
        person = self._starter(slack_user, f"start {command.playbook}", reply)
        if person is None:
            return
        try:
            playbook = self.services.playbook(command.playbook)
        except FileNotFoundError:
            reply(f"There is no playbook `{bk.escape(command.playbook)}`. Type `/crisis list` to see them.")
            return
        except Exception as exc:  # noqa: BLE001 - a broken playbook file: say how to find out why
            reply(
                f"Playbook `{command.playbook}` does not load ({bk.escape(type(exc).__name__)}); "
                "run `runbook check` on the server."
            )
            return
        inputs = {"summary": command.summary} if command.summary and "summary" in playbook.inputs else {}
        for key, value in command.inputs:
            name = input_name(playbook, key)
            if name is None:
                reply(
                    f"`{playbook.id}` has no input `{bk.escape(key)}` (its inputs: "
                    f"{', '.join(playbook.inputs) or 'none'}); fix it and type the command again."
                )
                return
            try:
                inputs[name] = coerce_field_value(playbook.inputs[name], value)
            except ValueError as exc:
                reply(
                    f"`{bk.escape(key)}={bk.escape(value[:200])}`: {bk.escape(str(exc))}; fix it and type the "
                    "command again."
                )
                return
        missing = [n for n, f in playbook.inputs.items() if f.required and f.default is None and n not in inputs]
        if missing:
            if trigger_id:
                self.open_form(
                    playbook, inputs, slack_user=slack_user, trigger_id=trigger_id, response_url=response_url
                )
                return
            reply(f"`{playbook.id}` needs {', '.join(missing)}: type `/crisis start {playbook.id} what happened`.")
            return
        self.launch(playbook.id, inputs, person=person, reply=reply)

    def launch(self, playbook_id: str, inputs: dict[str, Any], *, person: Any, reply: Reply) -> None:
        """Create the incident (its immediate steps, the freeze, run now), open the war room, then
        create the flow run: the brake first, the room second."""
        try:
            started = self.verbs.start(
                services=self.services,
                playbook_ref=playbook_id,
                inputs=inputs,
                requester=person.id,
                via="slack",
                create_run=False,
            )
        except self.verbs.CommandError as exc:
            reply(f"Not started: {bk.escape(str(exc))}. Type `/crisis list` to check the playbook and its inputs.")
            return
        incident, plan = started.incident, started.plan
        people = [person.id]
        for step in plan.steps:
            if step.gate is not None:
                people += [p for p in step.gate.signers if p not in people]
        try:
            room = self.warrooms.open(incident, people=people)
        except Exception as exc:  # noqa: BLE001 - the incident exists; say so and keep going
            log.warning("war room for %s failed", incident.slug, exc_info=True)
            reply(
                f"Incident `{incident.slug}` started, but its war room could not be created "
                f"({bk.escape(type(exc).__name__)}). Sign-offs still work from the CLI."
            )
            room = None
        if self.relay is not None:
            self.relay.watch(incident.id)
        try:
            self.verbs.launch(services=self.services, incident=get_incident(self.services.db, incident.id))
        except self.verbs.CommandError as exc:
            reply(f"Incident `{incident.slug}` created, but: {bk.escape(str(exc))}")
            return
        done = f" Done at once: {', '.join(started.immediate)}." if started.immediate else ""
        where = f" War room: <#{room.channel}>." if room is not None else ""
        reply(f"🚨 Started `{incident.slug}` ({bk.escape(plan.title)}).{done}{where}")

    def open_form(
        self, playbook: Any, given: dict[str, Any], *, slack_user: str, trigger_id: str, response_url: str | None
    ) -> None:
        token = refs.new_token()
        now = time.monotonic()
        with self._lock:
            for key in [k for k, v in self._forms.items() if v.expires < now]:
                del self._forms[key]
            self._forms[token] = PendingStart(
                playbook=playbook.id, slack_user=slack_user, response_url=response_url, expires=now + FORM_TTL_SECONDS
            )
        inputs = [forms.input_block(name, spec, given.get(name)) for name, spec in playbook.inputs.items()]
        view = {
            "type": "modal",
            "callback_id": START_SUBMIT,
            "private_metadata": token,
            "title": bk.plain("Start an incident", 24),
            "submit": bk.plain("Start", 24),
            "close": bk.plain("Cancel", 24),
            "blocks": [bk.section(f"*{bk.escape(playbook.title)}*  `{playbook.id}`")] + inputs[:95],
        }
        self.client.views_open(trigger_id=trigger_id, view=view)

    def form(self, token: str) -> PendingStart | None:
        with self._lock:
            pending = self._forms.get(token)
        return pending if pending is not None and pending.expires >= time.monotonic() else None

    def validate_form(self, token: str, state: dict[str, Any]) -> tuple[PendingStart | None, dict, dict]:
        pending = self.form(token)
        if pending is None:
            return None, {}, {}
        playbook = self.services.playbook(pending.playbook)
        values, errors = forms.read(playbook.inputs, state)
        if not errors:
            try:
                playbook.resolve_inputs(values)
            except ValueError as exc:
                for problem in getattr(exc, "problems", [str(exc)]):
                    name, _, why = problem.partition(":")
                    errors[forms.block_id(name.strip())] = bk.clip(why.strip() or problem, 150)
        return pending, values, errors

    def submit_form(self, token: str, values: dict[str, Any], *, slack_user: str, reply: Reply) -> None:
        with self._lock:
            pending = self._forms.pop(token, None)
        if pending is None or pending.slack_user != slack_user:
            reply("That form expired; type `/crisis start PLAYBOOK` again.")
            return
        person = self._starter(slack_user, f"start {pending.playbook}", reply)
        if person is not None:
            self.launch(pending.playbook, values, person=person, reply=reply)

    # -- cancel -----------------------------------------------------------------------------------------
    def cancel(self, command: cmd.Cancel, *, slack_user: str, reply: Reply) -> None:
        person = self._starter(slack_user, f"cancel {command.incident}", reply)
        if person is None:
            return
        incident = get_incident(self.services.db, command.incident)
        if incident is None or acc.is_ledger(incident):
            reply(f"No incident `{bk.escape(command.incident)}`. Type `/crisis status` for the open ones.")
            return
        try:
            self.verbs.cancel(
                services=self.services,
                incident_ref=incident.id,
                person=person.id,
                reason=command.reason,
                channel="slack",
            )
        except self.verbs.CommandError as exc:
            reply(f"Not cancelled: {bk.escape(str(exc))}.")
            return
        if self.relay is not None:
            self.relay.nudge()
        reply(f"⛔ Cancelled `{incident.slug}`: {bk.escape(command.reason)}")

    # -- acknowledge (the briefing's button) ----------------------------------------------------------
    def acknowledge(self, *, incident_id: str, slack_user: str, reply: Reply) -> None:
        from runbook.listen.convene import acknowledge

        person = self.access.person(slack_user)
        if person is None:
            self.access.refuse(
                slack_user=slack_user, what="acknowledge", incident_id=incident_id or None, reason="not in the roster"
            )
            reply(
                "You are not in the incident roster, so your acknowledgement was not counted (the attempt was "
                "recorded). Ask the comms lead to add your Slack id to roster.yaml."
            )
            return
        incident = get_incident(self.services.db, incident_id) if incident_id else None
        if incident is None:
            reply("This incident no longer exists; type `/crisis status` for the open ones.")
            return
        try:
            answered = acknowledge(self.services.db, incident_id=incident.id, person=person.id, via="slack")
        except LookupError:
            reply(
                f"You were not asked to join `{incident.slug}`; nothing to acknowledge. "
                "Ask the comms lead if you should be."
            )
            return
        if self.relay is not None:
            self.relay.nudge()
        reply(
            f"✅ Thanks {bk.escape(person.name)}, you are on `{incident.slug}`."
            if answered
            else f"You had already acknowledged `{incident.slug}`."
        )

    # -- freeze -----------------------------------------------------------------------------------------
    def freeze(self, command: cmd.Freeze, *, slack_user: str, reply: Reply) -> None:
        person = self._starter(slack_user, "freeze", reply)
        if person is None:
            return
        from runbook.queue import QueueError, freeze_now

        reason = command.reason or "emergency brake from Slack"
        try:
            # Not tied to an incident: the queue's ledger records it; thaw with `runbook thaw`.
            result = freeze_now(self.services.db, incident_id=None, actor=person.id, channel="slack", reason=reason)
        except QueueError as exc:
            reply(f"Not frozen: {bk.escape(str(exc))}")
            return
        reply(
            f"🧊 {bk.escape(result.summary())}\nThaw post by post with `runbook thaw {result.id} --as PERSON` "
            "after sign-off."
        )

    # -- status and list ---------------------------------------------------------------------------------
    def status(self, ref: str | None) -> tuple[str, list[dict] | None]:
        if ref is not None:
            incident = get_incident(self.services.db, ref)
            if incident is None or acc.is_ledger(incident):
                return f"No incident `{bk.escape(ref)}`. Type `/crisis status` for the open ones.", None
            return status_blocks(incident, events(self.services.db, incident.id), self.services.roster())
        rows = [
            s
            for s in self.verbs.status(services=self.services)
            if s.status not in refs.CLOSED and s.playbook.split(" ")[0] not in (acc.LEDGER_PLAYBOOK, "post-queue")
        ]
        if not rows:
            return "No open incidents. `/crisis start PLAYBOOK what happened` starts one.", None
        lines = []
        for s in rows:
            line = f"• `{bk.escape(s.slug)}` {bk.escape(s.status)}"
            if s.current_step:
                line += f" · now: `{bk.escape(s.current_step)}`"
            if s.pending:
                line += " · awaiting sign-off: " + ", ".join(f"`{bk.escape(p.step)}`" for p in s.pending)
            lines.append(line)
        return "Open incidents:\n" + "\n".join(lines) + "\n`/crisis status INCIDENT` shows one in detail.", None

    def list_text(self) -> str:
        from runbook.spec import playbook_files

        files = playbook_files([self.services.settings.playbooks_dir])
        roster = self.services.settings.resolved_roster
        # Loading and checking every playbook costs milliseconds each: reuse the text until a file changes.
        key = tuple((str(p), p.stat().st_mtime_ns) for p in files) + ((str(roster), roster.stat().st_mtime_ns),)
        cached = self._listing
        if cached is not None and cached[0] == key:
            return cached[1]
        text = self._list_text(files)
        self._listing = (key, text)
        return text

    def _list_text(self, files) -> str:
        lines = []
        for path in files:
            try:
                playbook = self.services.playbook(path.stem)
            except Exception:  # noqa: BLE001 - list the others; `runbook check` says what is wrong
                lines.append(f"• `{bk.escape(path.stem)}`: does not load (run `runbook check`)")
                continue
            needs = [n for n, f in playbook.inputs.items() if f.required]
            lines.append(
                f"• `{playbook.id}`: {bk.escape(bk.clip(playbook.title, 200))}"
                + (f" (needs {', '.join(needs)})" if needs else "")
            )
        if not lines:
            return "No playbooks on this server."
        return "Playbooks (`/crisis start ID what happened`):\n" + "\n".join(lines)
