"""The relay tails each war-room incident's audit trail (the source of truth) and mirrors it into
Slack: it delivers chat messages and sign-off requests the engine recorded, echoes the timeline,
updates the pinned status message and the sign-off messages in place.

The engine therefore needs no Slack token: whatever Chat port it uses, what it says reaches the
war room. Deliveries are recorded (`slack.delivered`, `slack.signoff_posted`), so a restart never
posts one twice; only the echo cursor lives in a small file under `home`.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from runbook.audit import events, get_incident, list_incidents
from runbook.slack import blocks as bk
from runbook.slack import refs
from runbook.slack.quiet import MAX_DELAY_SECONDS
from runbook.slack.signoffs import asked_events, request_from_event
from runbook.slack.status import timeline_line

ACKNOWLEDGE = "convene.acknowledge"


def ack_button(incident_id: str) -> dict:
    """The briefing's "Acknowledge" button; the clicker is known by Slack's signed user id."""
    return {
        "type": "actions",
        "block_id": "acknowledge",
        "elements": [
            {
                "type": "button",
                "action_id": ACKNOWLEDGE,
                "style": "primary",
                "value": incident_id,
                "text": {"type": "plain_text", "text": "Acknowledge"},
            }
        ],
    }


log = logging.getLogger(__name__)

MAX_FAILURES = 5
ECHO_MODES = ("thread", "off")
# Chat messages that are bookkeeping, not news for the team: they go where the echo goes.
AUDIT_KEYS = (":checkpoint",)


class Relay:
    def __init__(
        self,
        *,
        services: Any,
        warrooms: Any,
        signoffs: Any,
        outbox: Any,
        state_path: Path | None,
        interval: float = 1.0,
        echo: bool | str = "thread",
        quiet: Any = None,
        adopt: bool = True,
    ):
        self.services = services
        self.db = services.db
        self.warrooms = warrooms
        self.signoffs = signoffs
        self.outbox = outbox
        self.state_path = state_path
        self.interval = interval
        # The audit echo is for whoever wants the detail: a thread under the pinned status, or off.
        # The room itself gets the messages people act on.
        self.echo = {True: "thread", False: "off"}.get(echo, echo) if not isinstance(echo, str) else echo
        if self.echo not in ECHO_MODES:
            raise ValueError(f"echo must be one of {', '.join(ECHO_MODES)}")
        self.adopt = adopt  # open a war room for incidents started elsewhere (CLI, an alert)
        self.quiet = quiet  # a pass waits (briefly) for requests being acknowledged
        self._cursors: dict[str, int] = self._load()
        self._watched: set[str] = set()
        self._final_tokens: set[str] = set()
        self._rendered: dict[str, str] = {}  # status shown in each pinned message
        self._trails: dict[str, list[Any]] = {}
        self._failures: dict[tuple[str, int], int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one pass at a time (the thread, or a test calling poll_once)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self.discover()
        self._thread = threading.Thread(target=self._run, name="runbook-slack-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def watch(self, incident_id: str) -> None:
        self._watched.add(incident_id)
        self.nudge()

    def nudge(self, incident_id: str | None = None) -> None:
        self._wake.set()

    def discover(self) -> None:
        """Incidents with a war room still to mirror: open ones, and closed ones whose last events
        were not mirrored yet (they closed while the app was down)."""
        for incident in list_incidents(self.db):
            if incident.id in self._watched:
                continue
            closed = incident.status in refs.CLOSED
            if closed and incident.id not in self._cursors:
                continue
            if not incident.channel and not (self.adopt and not closed):
                continue
            evts = events(self.db, incident.id)
            if refs.war_room(evts) is None and not (self.adopt and not closed and self._adopt(incident, evts)):
                continue
            if not closed or (evts and evts[-1].seq > self._cursors.get(incident.id, 0)):
                self._watched.add(incident.id)

    def _run(self) -> None:
        passes = 0
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            passes += 1
            if passes % 5 == 0:  # incidents started elsewhere get their room within seconds
                try:
                    self.discover()
                except Exception:  # noqa: BLE001 - the next pass tries again
                    log.warning("relay discovery failed", exc_info=True)
            if self.quiet is not None:
                self.quiet.wait(MAX_DELAY_SECONDS)
            self.poll_once()

    def poll_once(self) -> None:
        with self._lock:
            for incident_id in sorted(self._watched):
                try:
                    if self._process(incident_id):
                        self._watched.discard(incident_id)
                        self._trails.pop(incident_id, None)
                except Exception:  # noqa: BLE001 - one incident's trouble must not stop the others
                    log.warning("relay failed for incident %s", incident_id, exc_info=True)
            self._save()

    # -- one incident ------------------------------------------------------------------------------------
    def _process(self, incident_id: str) -> bool:
        """Mirror new events; True when the incident is closed and fully mirrored."""
        incident = get_incident(self.db, incident_id)
        evts = self._trail(incident_id)
        room = refs.war_room(evts)
        if incident is None or room is None:
            return incident is None
        cursor = self._cursors.get(incident_id, 0)
        new = [e for e in evts if e.seq > cursor]
        lines: list[str] = []
        for event in new:
            try:
                audit_chat = event.action == "chat.posted" and str((event.details or {}).get("key") or "").endswith(
                    AUDIT_KEYS
                )
                if (
                    event.action == "chat.posted"
                    and not audit_chat
                    and not isinstance((event.details or {}).get("slack"), dict)
                ):
                    self._deliver(incident, room, event, evts)
                elif event.action == "signoff.escalated":
                    self.warrooms.invite(room.channel, list((event.details or {}).get("signers", [])))
                elif event.action == "convene.requested":
                    # Everyone convened joins the room, not only the signers.
                    self.warrooms.invite(room.channel, list((event.details or {}).get("people", [])))
                if audit_chat and self.echo != "off":
                    lines.append(bk.escape(str((event.details or {}).get("text") or "")))
                line = timeline_line(event) if self.echo != "off" else None
                if line:
                    lines.append(line)
            except Exception:
                key = (incident_id, event.seq)
                self._failures[key] = self._failures.get(key, 0) + 1
                if self._failures[key] < MAX_FAILURES:
                    self._flush(room, lines)
                    raise
                log.error(
                    "relay gives up on event #%s of %s after %s attempts",
                    event.seq,
                    incident.slug,
                    MAX_FAILURES,
                    exc_info=True,
                )
            self._cursors[incident_id] = event.seq
        self._flush(room, lines)
        # Refresh on news from the flow (our own slack.* records are not news), or when the incident
        # row changed after its last event (the status is set just after incident.completed).
        current = get_incident(self.db, incident_id)
        if current is None:  # gone meanwhile: nothing left to mirror, as above
            return True
        news = any(not e.action.startswith("slack.") for e in new)
        if news or self._rendered.get(incident_id) != current.status:
            evts = self._trail(incident_id)  # with our own deliveries just appended
            self.warrooms.refresh(room, current, evts)
            self._refresh_signoffs(incident_id, evts)
            self._rendered[incident_id] = current.status
        return current.status in refs.CLOSED and not news

    def _trail(self, incident_id: str) -> list[Any]:
        """The incident's whole trail, read incrementally: each pass reads only the new events."""
        cached = self._trails.setdefault(incident_id, [])
        cached.extend(refs.events_after(self.db, incident_id, cached[-1].seq if cached else 0))
        return list(cached)

    def _flush(self, room: refs.WarRoom, lines: list[str]) -> None:
        """The pass's audit lines as one reply in the pinned status message's thread."""
        if not lines:
            return
        text = "\n".join(lines)
        sections = [bk.section(chunk) for chunk in _chunks(lines)]
        thread = {"thread_ts": room.status_ts} if room.status_ts else {}
        self.outbox.post(room.channel, text=text, blocks=bk.fit(sections), **thread)
        lines.clear()

    def _adopt(self, incident: Any, evts: list[Any]) -> bool:
        """A war room for an open incident started without one (CLI, alert): the requester, the
        signers of its plan. True when the room exists now."""
        if incident.playbook_id in refs.LEDGERS or getattr(incident, "kind", "incident") == "ledger":
            return False
        started = next((e for e in evts if e.action == "incident.started"), None)
        plan = (started.details or {}).get("plan") if started is not None else None
        if not isinstance(plan, dict):
            return False  # not an incident the engine runs (a ledger)
        people = [incident.requester]
        for step in plan.get("steps") or []:
            for person in (step.get("gate") or {}).get("signers") or []:
                if person not in people:
                    people.append(person)
        try:
            self.warrooms.open(incident, people=people)
        except Exception:  # noqa: BLE001 - tried again at the next discovery
            log.warning("could not open a war room for %s", incident.slug, exc_info=True)
            return False
        return True

    def _deliver(self, incident: Any, room: refs.WarRoom, event: Any, evts: list[Any]) -> None:
        d = event.details or {}
        key = d.get("key")
        if not key or refs.delivery(evts, key) is not None:
            return
        if d.get("kind") == "signoff_request":
            request = self._request_for(incident, key, evts)
            if request is not None:
                self.signoffs.post_request(room.channel, request, key=key)
                return
        from runbook.slack.chat import message_blocks

        text = str(d.get("text") or "")
        blocks = message_blocks(text)
        if d.get("kind") == "failure" and d.get("resume_token"):  # recorded before the war room existed
            from runbook.slack.resume import failure_blocks

            blocks = failure_blocks(text, str(d["resume_token"]))
        elif str(key).endswith(":briefing"):  # a convene: those asked acknowledge with a click
            blocks = bk.fit([*blocks, ack_button(incident.id)])
        response = self.outbox.post(room.channel, text=bk.escape(text), blocks=blocks)
        refs.record(
            self.db,
            incident.id,
            refs.DELIVERED,
            {"key": key, "channel": response["channel"], "ts": response["ts"], "kind": d.get("kind")},
            step=event.step,
        )

    def _request_for(self, incident: Any, key: str, evts: list[Any]):
        parsed = refs.parse_key(key)
        if parsed is None:
            return None
        step_id, phase, review = parsed
        asked = asked_events(evts, step_id, phase, review)
        if not asked:
            return None
        step = self.signoffs.step(incident.id, step_id)
        return request_from_event(incident, asked[-1], step.title, step.gate.fields)

    def _refresh_signoffs(self, incident_id: str, evts: list[Any]) -> None:
        for event in evts:
            d = event.details or {}
            if event.action != refs.SIGNOFF_POSTED or d.get("token") in self._final_tokens:
                continue
            ref = refs.ref_from_event(event)
            self.signoffs.refs.remember(ref)
            if self.signoffs.refresh(ref, evts):
                self._final_tokens.add(ref.token)

    # -- the echo cursor ---------------------------------------------------------------------------------
    def _load(self) -> dict[str, int]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            return {str(k): int(v) for k, v in json.loads(self.state_path.read_text()).items()}
        except (ValueError, OSError):
            return {}

    def _save(self) -> None:
        if self.state_path is None:
            return
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._cursors, sort_keys=True))
        tmp.replace(self.state_path)


def _chunks(lines: list[str]) -> list[str]:
    out, current = [], ""
    for line in lines:
        line = bk.clip(line, bk.MAX_SECTION)
        if current and len(current) + len(line) + 1 > bk.MAX_SECTION:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return out + ([current] if current else [])
