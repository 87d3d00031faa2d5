"""Sign-offs in Slack: the request message (Approve / Edit / Reject), the edit modal with typed
fields, and turning a click or a submission into one decision for the engine's `approve` verb.

Buttons and modals carry only an opaque token (see `refs`). One click at a time per gate: a second
click, a replay or a rival's click finds the gate decided and gets an ephemeral explanation.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from typing import Any

from runbook.audit import get_incident
from runbook.ports.chat import SignoffRequest
from runbook.slack import blocks as bk
from runbook.slack import forms, refs
from runbook.slack.status import who
from runbook.spec.models import FieldType, InputField

log = logging.getLogger(__name__)

APPROVE, EDIT, REJECT = "signoff.approve", "signoff.edit", "signoff.reject"
SUBMIT = "signoff.submit"
DECISIONS = ("signoff.approved", "signoff.rejected", "signoff.refused")
Reply = Callable[[str], None]


def needs_input(fields: dict[str, InputField]) -> bool:
    """Approve opens the form when a field has no usable value: required without a default, or a
    tick box (a checklist item must be ticked on purpose)."""
    return any((f.required and f.default is None) or f.type is FieldType.bool for f in fields.values())


def _when(event: Any) -> str:
    return event.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def round_events(evts: list[Any], step: str, review: int) -> list[Any]:
    """The events of one round of a step's gate: from its request to the next round's request (an
    "after" gate reopened on new outputs asks again), plus any cancellation of the incident."""
    out: list[Any] = []
    inside = review == 0
    for e in evts:
        if e.step == step and e.action == "signoff.requested":
            r = int((e.details or {}).get("review", 0))
            if r > review:
                inside = False
            elif r == review:
                inside = True
        if inside or e.action == "incident.cancelled":
            out.append(e)
    return out


def asked_events(evts: list[Any], step: str, phase: int, review: int) -> list[Any]:
    return [
        e
        for e in round_events(evts, step, review)
        if e.step == step
        and e.action in ("signoff.requested", "signoff.escalated")
        and int((e.details or {}).get("phase", 0)) == phase
    ]


def gate_state(evts: list[Any], step: str, phase: int, review: int = 0) -> tuple[bool, str, list[str]]:
    """(decided, the line to show, approvals so far) of one sign-off message, from the trail."""
    approvals: list[str] = []
    last_channel: dict[str, str] = {}
    evts = round_events(evts, step, review)
    for e in evts:
        if e.step != step:
            continue
        d = e.details or {}
        if e.action == "signoff.approved":
            approvals = list(d.get("approvals", []))
            last_channel[e.actor] = e.channel
        elif e.action == "signoff.granted":
            names = ", ".join(d.get("approvers", approvals))
            via = ", ".join(sorted({last_channel.get(a, "?") for a in d.get("approvers", approvals)}))
            return True, f"✅ Approved by {bk.escape(names)} ({via}) at {_when(e)}", approvals
        elif e.action == "signoff.rejected":
            return True, f"❌ Rejected by {bk.escape(e.actor)} ({e.channel}) at {_when(e)}", approvals
        elif e.action == "signoff.timed_out" and int(d.get("phase", 0)) == phase:
            escalated = any(x.action == "signoff.escalated" and x.step == step for x in evts)
            return (
                True,
                f"⏰ No decision in time ({_when(e)})" + ("; see the escalated request below" if escalated else ""),
                approvals,
            )
        elif e.action in ("step.skipped", "step.failed") and e.step == step:
            return True, f"⏭️ Step {e.action.split('.')[1]} at {_when(e)}", approvals
    for e in evts:
        if e.action == "incident.cancelled":
            return True, f"⛔ Incident cancelled by {bk.escape(e.actor)} at {_when(e)}", approvals
    return False, "", approvals


def request_from_event(incident: Any, event: Any, title: str, fields: dict[str, InputField]) -> SignoffRequest:
    """The request as the engine asked it, rebuilt from a signoff.requested/escalated event."""
    from datetime import datetime

    d = event.details or {}
    deadline = datetime.fromisoformat(d["deadline"]) if d.get("deadline") else None
    return SignoffRequest(
        incident_id=incident.id,
        incident_slug=incident.slug,
        step_id=event.step,
        title=title,
        prompt=d.get("prompt", ""),
        signers=list(d.get("signers", [])),
        quorum=int(d.get("quorum", 1)),
        deadline=deadline,
        escalated=bool(d.get("phase")),
        fields={k: v.title or k for k, v in fields.items()},
    )


class Signoffs:
    def __init__(
        self,
        *,
        services: Any,
        verbs: Any,
        client: Any,
        outbox: Any,
        refs_: refs.Refs,
        access: Any,
        decision_wait: float = 30.0,
        verdict_wait: float = 60.0,
        on_change: Callable[[str], None] | None = None,
    ):
        # Plain wiring, alike in shape to Crisis.__init__: the two hold different collaborators.
        self.services = services
        self.verbs = verbs  # runbook.engine.commands (approve)
        self.client = client
        self.outbox = outbox
        self.refs = refs_
        self.access = access
        self.decision_wait = decision_wait
        self.verdict_wait = verdict_wait
        self.on_change = on_change  # nudges the relay to refresh messages now
        self._plans: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._mutex = threading.Lock()

    # -- the plan of an incident (fields and titles of its gates) --------------------------------
    def plan(self, incident_id: str):
        plan = self._plans.get(incident_id)
        if plan is None:
            incident = get_incident(self.services.db, incident_id)
            # The plan recorded when the incident started, as the flow and `prepare_decision` use.
            from runbook.engine.commands import recorded_plan

            plan = recorded_plan(services=self.services, incident=incident)
            self._plans[incident_id] = plan
        return plan

    def step(self, incident_id: str, step_id: str):
        return self.plan(incident_id).step(step_id)

    # -- messages -----------------------------------------------------------------------------------
    def render(
        self,
        request: SignoffRequest,
        token: str,
        fields: dict[str, InputField],
        decided: str = "",
        approvals: list[str] | None = None,
    ) -> tuple[str, list[dict]]:
        roster = self.services.roster()
        head = "⏰ Escalated sign-off" if request.escalated else "✋ Sign-off needed"
        text = f"{head}: {request.incident_slug} / {request.step_id}: {request.title}"
        out = [
            bk.header(f"{head}: {request.title}"),
            bk.section(f"*{bk.escape(request.incident_slug)}* · step `{bk.escape(request.step_id)}`"),
        ]
        facts = [f"May sign: {who(request.signers, roster)}"]
        if request.quorum > 1:
            got = approvals if approvals is not None else request.approvals
            facts.append(
                f"approvals: {len(got)} of {request.quorum}" + (f" ({bk.escape(', '.join(got))})" if got else "")
            )
        if request.deadline is not None:
            facts.append(f"deadline: {request.deadline.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
        if fields:
            facts.append("asks for: " + bk.escape(", ".join(f.title or n for n, f in fields.items())))
        out.append(bk.context(" · ".join(facts)))  # before the prompt: a long prompt is what gets cut
        out += bk.text_sections(request.prompt or request.title)
        if decided:
            tail = [bk.section(decided)]
        else:
            approve_label = "Approve…" if needs_input(fields) else "Approve"
            buttons = [
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "style": "primary",
                    "value": token,
                    "text": bk.plain(approve_label, 75),
                }
            ]
            if fields:
                buttons.append({"type": "button", "action_id": EDIT, "value": token, "text": bk.plain("Edit…", 75)})
            buttons.append(
                {
                    "type": "button",
                    "action_id": REJECT,
                    "style": "danger",
                    "value": token,
                    "text": bk.plain("Reject", 75),
                    "confirm": {
                        "title": bk.plain("Reject?", 100),
                        "confirm": bk.plain("Reject", 30),
                        "deny": bk.plain("Back", 30),
                        "text": bk.plain("Rejecting stops the playbook at this step.", 300),
                    },
                }
            )
            tail = [{"type": "actions", "block_id": "signoff", "elements": buttons}]
        return bk.escape(text), bk.fit(out + tail, keep_tail=len(tail))

    def post_request(self, channel: str, request: SignoffRequest, *, key: str) -> dict[str, Any]:
        """Post the request with buttons; returns {channel, ts, token} (the caller records the key)."""
        token = refs.new_token()
        fields = self.step(request.incident_id, request.step_id).gate.fields
        text, blocks = self.render(request, token, fields)
        response = self.outbox.post(channel, text=text, blocks=blocks)
        parsed = refs.parse_key(key)
        ref = refs.SignoffRef(
            token=token,
            incident_id=request.incident_id,
            step=request.step_id,
            phase=1 if request.escalated else 0,
            key=key,
            channel=response["channel"],
            ts=response["ts"],
            review=parsed[2] if parsed else 0,
        )
        self.refs.record(ref)
        return {"channel": ref.channel, "ts": ref.ts, "token": token}

    def refresh(self, ref: refs.SignoffRef, evts: list[Any] | None = None) -> bool:
        """Re-render the message from the trail (decided: who and when); True once it is final."""
        incident = get_incident(self.services.db, ref.incident_id)
        evts = evts if evts is not None else self._gate_events(ref)
        asked = asked_events(evts, ref.step, ref.phase, ref.review)
        if not asked:
            return False
        step = self.step(ref.incident_id, ref.step)
        request = request_from_event(incident, asked[-1], step.title, step.gate.fields)
        decided, line, approvals = gate_state(evts, ref.step, ref.phase, ref.review)
        text, blocks = self.render(request, ref.token, step.gate.fields, decided=line, approvals=approvals)
        self.outbox.update(ref.channel, ref.ts, text=text, blocks=blocks)
        return decided

    # -- clicks --------------------------------------------------------------------------------------
    def on_click(
        self, *, action_id: str, token: str, slack_user: str, trigger_id: str | None, dedupe: str, reply: Reply
    ) -> None:
        """Runs after the ack: resolve the token and the person, then open the form or decide."""
        ref = self.refs.resolve(token)
        if ref is None:
            reply(
                "This sign-off is no longer open (the incident is closed or the button is unknown). "
                "Type `/crisis status` to see what is pending."
            )
            return
        person = self.access.person(slack_user)
        what = {APPROVE: "approve", EDIT: "edit", REJECT: "reject"}.get(action_id, action_id)
        if person is None:
            self.access.refuse(
                slack_user=slack_user,
                what=f"signoff.{what}",
                incident_id=ref.incident_id,
                step=ref.step,
                reason="not in the roster",
            )
            reply(
                "You are not in the incident roster, so your click was not counted (and was recorded). "
                "Ask the comms lead to add your Slack id to roster.yaml."
            )
            return
        fields = self.step(ref.incident_id, ref.step).gate.fields
        if action_id == EDIT or (action_id == APPROVE and needs_input(fields)):
            if trigger_id:
                self.open_form(ref, trigger_id=trigger_id)
            return
        self.decide(
            ref, person_id=person.id, approve=action_id == APPROVE, fields={}, comment="", dedupe=dedupe, reply=reply
        )

    def open_form(self, ref: refs.SignoffRef, *, trigger_id: str) -> None:
        step = self.step(ref.incident_id, ref.step)
        evts = self._gate_events(ref)
        outputs: dict[str, Any] = {}
        for e in evts:  # an "after" gate approves what the step produced (this round's): start from that
            if e.action in ("step.finished", "step.applied") and e.step == ref.step:
                outputs = dict((e.details or {}).get("outputs") or outputs)
        asked = asked_events(evts, ref.step, ref.phase, ref.review)
        prompt = (asked[-1].details or {}).get("prompt", "") if asked else step.title
        incident = get_incident(self.services.db, ref.incident_id)
        slug = incident.slug if incident is not None else ref.incident_id
        inputs = [forms.input_block(name, spec, outputs.get(name)) for name, spec in step.gate.fields.items()]
        content = [bk.context(f"*{bk.escape(slug)}* · step `{bk.escape(ref.step)}`")]
        content += bk.text_sections(prompt)[:3]
        view = {
            "type": "modal",
            "callback_id": SUBMIT,
            "private_metadata": ref.token,
            "title": bk.plain("Sign-off", 24),
            "submit": bk.plain("Approve", 24),
            "close": bk.plain("Cancel", 24),
            "blocks": bk.fit(content, max_blocks=bk.MAX_MODAL_BLOCKS - len(inputs) - 1)
            + inputs[: bk.MAX_MODAL_BLOCKS - 5]
            + [forms.comment_block()],
        }
        self.client.views_open(trigger_id=trigger_id, view=view)

    def validate(self, token: str, state: dict[str, Any]) -> tuple[refs.SignoffRef | None, dict, dict]:
        """For the submission's ack: (ref, values, errors by block id)."""
        ref = self.refs.resolve(token)
        if ref is None:
            return None, {}, {}
        values, errors = forms.read(self.step(ref.incident_id, ref.step).gate.fields, state)
        return ref, values, errors

    # -- one decision ------------------------------------------------------------------------------------
    def _lock(self, key: str) -> threading.Lock:
        with self._mutex:
            return self._locks.setdefault(key, threading.Lock())

    def _first_time(self, dedupe: str) -> bool:
        with self._mutex:
            if dedupe in self._seen:
                return False
            self._seen[dedupe] = time.monotonic()
            while len(self._seen) > 10_000:
                self._seen.popitem(last=False)
            return True

    def decide(
        self,
        ref: refs.SignoffRef,
        *,
        person_id: str,
        approve: bool,
        fields: dict[str, Any],
        comment: str,
        dedupe: str,
        reply: Reply,
    ) -> str:
        """Send one decision to the engine and tell the clicker what became of it. Returns the outcome."""
        with self._lock(f"{ref.incident_id}:{ref.step}"):
            if not self._first_time(dedupe):
                reply("This click was already received; it counts once.")
                return "duplicate"
            decided, line, approvals = gate_state(self._gate_events(ref), ref.step, ref.phase, ref.review)
            if decided:
                reply(f"Already decided, so your click was not counted: {line}")
                self._changed(ref)
                return "decided"
            if approve and person_id in approvals:
                reply(f"You already approved `{ref.step}`; it needs approvals from other people.")
                return "repeat"
            try:
                result = self._send(
                    ref, person_id=person_id, approve=approve, comment=comment, fields=fields, dedupe=dedupe
                )
            except self.verbs.CommandError as exc:
                reply(f"Not recorded: {exc}. Type `/crisis status` to see what is pending.")
                return "error"
            verdict = self._await_verdict(ref.incident_id, result["decision_id"])
            self._changed(ref)
        if verdict is None:
            reply("Your decision was sent; the playbook has not recorded it yet. Watch the status message.")
            return "sent"
        d = verdict.details or {}
        if verdict.action == "signoff.refused":
            reply(f"Not counted: {d.get('reason', 'refused')}.")
            return "refused"
        if verdict.action == "signoff.rejected":
            reply(f"You rejected `{ref.step}`; the playbook stops there.")
            return "rejected"
        quorum = int(d.get("quorum", 1))
        got = list(d.get("approvals", []))
        if len(got) >= quorum:
            reply(f"Approved: `{ref.step}` can go ahead.")
            return "granted"
        reply(f"Your approval counts: {len(got)} of {quorum}; waiting for {quorum - len(got)} more.")
        return "approved"

    def _send(
        self, ref: refs.SignoffRef, *, person_id: str, approve: bool, comment: str, fields: dict[str, Any], dedupe: str
    ) -> dict[str, Any]:
        # The decision's arguments named once for both verbs (prepare_decision, approve) of engine.commands.
        kwargs = dict(
            services=self.services,
            incident_ref=ref.incident_id,
            step_id=ref.step,
            person=person_id,
            approve=approve,
            comment=comment,
            fields=fields,
            channel="slack",
        )
        prepare, send = getattr(self.verbs, "prepare_decision", None), getattr(self.verbs, "send", None)
        if prepare is None or send is None:
            return self.verbs.approve(**kwargs, wait=self.decision_wait)
        decision = prepare(**kwargs)
        # The decision id comes from the click itself (its trigger id, or the modal's view id), so a
        # replayed request, even to another `runbook serve` process, is refused by the flow as a repeat.
        stable = "slack-" + hashlib.sha256(f"{ref.token}:{dedupe}".encode()).hexdigest()[:32]
        run_input = {**decision.run_input, "decision_id": stable}
        # The seal covers the decision id: seal again, or the flow records the click as a UI claim.
        from runbook.engine.prefect_io import seal

        run_input["seal"] = seal(
            approve=run_input["approve"],
            person=run_input["person"],
            channel=run_input["channel"],
            escalate=run_input["escalate"],
            decision_id=stable,
        )
        decision = replace(decision, run_input=run_input)
        from runbook.engine.identity import slack_evidence

        person = self.services.roster().person(person_id)  # found by the signed request's Slack user id
        return send(
            decision,
            wait=self.decision_wait,
            db=self.services.db,
            evidence=slack_evidence(person.slack_id if person is not None else ""),
        )

    def _await_verdict(self, incident_id: str, decision_id: str):
        end = time.monotonic() + self.verdict_wait
        seen = 0
        while time.monotonic() < end:
            for e in refs.select_events(self.services.db, incident_id, after=seen, actions=DECISIONS):
                seen = e.seq
                if (e.details or {}).get("decision_id") == decision_id:
                    return e
            time.sleep(0.1)
        return None

    def _gate_events(self, ref: refs.SignoffRef) -> list[Any]:
        """What gate_state and the form need: the step's events and a cancellation."""
        return refs.select_events(self.services.db, ref.incident_id, step=ref.step, actions=("incident.cancelled",))

    def _changed(self, ref: refs.SignoffRef) -> None:
        if self.on_change is not None:
            self.on_change(ref.incident_id)
