"""`SlackChat`, the Chat port on Slack, and `Outbox`, the per-channel queue every channel write goes
through: first come first served, at most one message per second per channel, and a channel that
answered 429 rests for its Retry-After even after slack_sdk's own retries gave up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runbook.audit import get_incident
from runbook.ports.chat import SignoffRequest
from runbook.slack import blocks as bk
from runbook.slack import refs

INTERVAL_SECONDS = 1.0  # Slack: about one message per second per channel


@dataclass
class _Lane:
    cond: threading.Condition = field(default_factory=threading.Condition)
    next_ticket: int = 0
    serving: int = 0
    free_at: float = 0.0  # monotonic time before which the channel must not be written to


class Outbox:
    """Blocking, FIFO per channel: `call()` returns Slack's answer once the message went out."""

    def __init__(
        self,
        client: WebClient,
        *,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()

    def _lane(self, channel: str) -> _Lane:
        with self._lock:
            return self._lanes.setdefault(channel, _Lane())

    def call(self, method: str, *, channel: str, lane_key: str | None = None, **kwargs: Any):
        lane = self._lane(lane_key or channel)
        with lane.cond:
            ticket = lane.next_ticket
            lane.next_ticket += 1
            while lane.serving != ticket:
                lane.cond.wait()
        try:
            wait = lane.free_at - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                return self.client.api_call(method, json={"channel": channel, **kwargs})
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    lane.free_at = self._clock() + max(retry_after(exc.response.headers), self.interval)
                raise
        finally:
            lane.free_at = max(lane.free_at, self._clock() + self.interval)
            with lane.cond:
                lane.serving += 1
                lane.cond.notify_all()

    def post(self, channel: str, *, text: str, blocks: list[dict] | None = None, **kwargs: Any):
        extra: dict[str, Any] = {"blocks": blocks} if blocks else {}
        return self.call("chat.postMessage", channel=channel, text=bk.fallback(text), **extra, **kwargs)

    def update(self, channel: str, ts: str, *, text: str, blocks: list[dict] | None = None):
        # Edits have their own lane: the per-channel limit is on new messages, and a status
        # update must not hold a sign-off request back (nor the reverse).
        return self.call(
            "chat.update",
            channel=channel,
            ts=ts,
            lane_key=f"{channel}/update",
            text=bk.fallback(text),
            **({"blocks": blocks} if blocks is not None else {}),
        )


def retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return float(value)
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def is_slack_channel(value: str | None) -> bool:
    """A Slack conversation id (C..., G..., D...), not a console label or a #name."""
    if not value:
        return False
    return value[0] in "CGD" and value[1:].isalnum() and value.isupper()


def message_blocks(text: str) -> list[dict]:
    return bk.fit(bk.text_sections(text))


class SlackChat:
    """The Chat port for one incident: posts once per key, records each post in the audit trail.

    A message for an incident without a war room yet (channel None) is recorded undelivered; the
    relay posts it there once the room exists.
    """

    def __init__(
        self,
        *,
        outbox: Outbox,
        db: Any,
        incident_id: str,
        signoffs: Any = None,
        annotate: Callable[[], dict[str, Any]] | None = None,
    ):
        self.outbox = outbox
        self.db = db
        self.incident_id = incident_id
        self.signoffs = signoffs  # runbook.slack.signoffs.Signoffs, renders requests with buttons
        self._annotate = annotate
        self._lock = threading.Lock()

    def _channel(self, channel: str | None) -> str | None:
        if is_slack_channel(channel):
            return channel
        incident = get_incident(self.db, self.incident_id)
        return incident.channel if incident is not None and is_slack_channel(incident.channel) else None

    def _known(self, key: str) -> tuple[bool, dict | None]:
        evts = refs.select_events(
            self.db, self.incident_id, actions=("chat.posted", refs.DELIVERED, refs.SIGNOFF_POSTED)
        )
        seen = any(e.action == "chat.posted" and (e.details or {}).get("key") == key for e in evts)
        return seen, refs.delivery(evts, key)

    def post(self, channel: str | None, text: str, *, key: str) -> str:
        return self._once(channel, key, "message", text, lambda ch: self._post_text(ch, text))

    def request_signoff(self, channel: str | None, request: SignoffRequest, *, key: str) -> str:
        if self.signoffs is None:
            return self.post(channel, request.text(), key=key)
        return self._once(
            channel, key, "signoff_request", request.text(), lambda ch: self.signoffs.post_request(ch, request, key=key)
        )

    def post_failure(self, channel: str | None, text: str, *, incident_id: str, step_id: str | None, key: str) -> str:
        """The incident's failure message, with a Resume button (runbook.slack.resume)."""
        from runbook.slack.resume import failure_blocks, new_token

        token = new_token()

        def send(ch: str) -> dict[str, Any]:
            response = self.outbox.post(ch, text=bk.escape(text), blocks=failure_blocks(text, token))
            return {"channel": response["channel"], "ts": response["ts"]}

        return self._once(channel, key, "failure", text, send, extra={"resume_token": token, "step": step_id})

    def _post_text(self, channel: str, text: str) -> dict[str, Any]:
        response = self.outbox.post(channel, text=bk.escape(text), blocks=message_blocks(text))
        return {"channel": response["channel"], "ts": response["ts"]}

    def _once(
        self,
        channel: str | None,
        key: str,
        kind: str,
        text: str,
        send: Callable[[str], dict[str, Any]],
        extra: dict[str, Any] | None = None,
    ) -> str:
        if not key:
            raise ValueError("a chat message needs an idempotency key")
        with self._lock:
            seen, delivered = self._known(key)
            if delivered is not None:
                return f"slack:{delivered['channel']}:{delivered['ts']}"
            if seen:
                return f"pending:{key}"  # recorded undelivered earlier: the relay posts it
            target = self._channel(channel)
            details: dict[str, Any] = {
                "key": key,
                "channel": target or channel,
                "kind": kind,
                "text": text[:4000],
                **(extra or {}),
            }
            if self._annotate is not None:
                details.update(self._annotate())
            if target is None:
                refs.record(self.db, self.incident_id, "chat.posted", details)
                return f"pending:{key}"
            details["slack"] = send(target)
            refs.record(self.db, self.incident_id, "chat.posted", details)
            return f"slack:{details['slack']['channel']}:{details['slack']['ts']}"
