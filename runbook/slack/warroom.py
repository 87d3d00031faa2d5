"""The incident's war-room channel: `crisis-<date>-<slug>` (at most 80 characters, made unique when
Slack answers `name_taken`), the people invited, and the one pinned status message updated in place.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runbook.audit import events, get_incident, update_incident
from runbook.drill.banner import DRILL_BANNER
from runbook.slack import refs
from runbook.slack.chat import Outbox
from runbook.slack.status import status_blocks

log = logging.getLogger(__name__)

MAX_NAME = 80
MAX_ATTEMPTS = 20
_INVALID = re.compile(r"[^a-z0-9_-]+")


def channel_name(slug: str, n: int = 1, *, prefix: str = "crisis") -> str:
    """`crisis-<slug>` (the slug starts with the date) cut to Slack's limit, `-n` from the second;
    a drill's room is `drill-<slug>`, so nobody mistakes a rehearsal for the real thing."""
    base = f"{prefix}-" + _INVALID.sub("-", slug.lower()).strip("-")
    base = re.sub(r"-{2,}", "-", base)
    suffix = "" if n == 1 else f"-{n}"
    return base[: MAX_NAME - len(suffix)].rstrip("-_") + suffix


class WarRooms:
    def __init__(
        self,
        *,
        client: WebClient,
        outbox: Outbox,
        db: Any,
        roster: Any,
        private: bool = True,
        ui_url: str | None = None,
    ):
        self.client = client
        self.outbox = outbox
        self.db = db
        self.roster = roster  # callable returning the current Roster
        self.private = private
        self.ui_url = ui_url  # the Prefect UI, for the flow run's link in the status
        self._lock = threading.Lock()

    def get(self, incident_id: str) -> refs.WarRoom | None:
        return refs.war_room(events(self.db, incident_id))

    def open(self, incident: Any, *, people: list[str]) -> refs.WarRoom:
        """Create (once) the channel, invite `people` (roster ids), pin the status message."""
        with self._lock:
            existing = self.get(incident.id)
            if existing is not None:
                return existing
            drill = getattr(incident, "kind", "incident") == "drill"
            channel, name = self._create(incident.slug, prefix="drill" if drill else "crisis")
            invited = self.invite(channel, people)
            if drill:
                self.outbox.post(channel, text=DRILL_BANNER)
            update_incident(self.db, incident.id, channel=channel)
            current = get_incident(self.db, incident.id)
            text, blocks = status_blocks(current, events(self.db, incident.id), self.roster(), self.ui_url)
            posted = self.outbox.post(channel, text=text, blocks=blocks)
            status_ts = posted["ts"]
            try:
                self.client.pins_add(channel=channel, timestamp=status_ts)
            except SlackApiError as exc:  # the status message still works unpinned
                log.warning("could not pin the status message in %s: %s", name, exc.response.get("error"))
            refs.record(
                self.db,
                incident.id,
                refs.WAR_ROOM,
                {"channel": channel, "name": name, "status_ts": status_ts, "invited": invited, "private": self.private},
            )
            return refs.WarRoom(incident_id=incident.id, channel=channel, name=name, status_ts=status_ts)

    def _create(self, slug: str, *, prefix: str = "crisis") -> tuple[str, str]:
        for n in range(1, MAX_ATTEMPTS + 1):
            name = channel_name(slug, n, prefix=prefix)
            try:
                response = self.client.conversations_create(name=name, is_private=self.private)
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken":
                    continue
                raise
            return response["channel"]["id"], name
        raise RuntimeError(f"no free channel name for {slug} after {MAX_ATTEMPTS} attempts")

    def invite(self, channel: str, people: list[str]) -> list[str]:
        """Invite the roster people who have a Slack id; returns the roster ids now invited."""
        roster = self.roster()
        wanted = {}
        for person_id in people:
            person = roster.person(person_id)
            if person is not None and person.slack_id:
                wanted[person.slack_id] = person.id
        if not wanted:
            return []
        try:
            self.client.conversations_invite(channel=channel, users=",".join(wanted))
            return list(wanted.values())
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                log.info("bulk invite to %s failed (%s); inviting one by one", channel, exc.response.get("error"))
        done = []
        for slack_id, person_id in wanted.items():  # one refusal (a deactivated user) must not block the rest
            try:
                self.client.conversations_invite(channel=channel, users=slack_id)
                done.append(person_id)
            except SlackApiError as exc:
                if exc.response.get("error") == "already_in_channel":
                    done.append(person_id)
                else:
                    log.warning("could not invite %s: %s", person_id, exc.response.get("error"))
        return done

    def refresh(self, room: refs.WarRoom, incident: Any, evts: list[Any]) -> None:
        """Update the pinned status message in place."""
        if room.status_ts is None:
            return
        text, blocks = status_blocks(incident, evts, self.roster(), self.ui_url)
        self.outbox.update(room.channel, room.status_ts, text=text, blocks=blocks)
