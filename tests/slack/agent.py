"""Signed requests as Slack sends them (slash commands, block_actions, view_submission), posted
over loopback to the app's HTTP endpoint. Used by the tests and by bench/slack.py.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from runbook.slack.verify import sign

VERIFICATION_TOKEN = "legacyverificationtoken123"  # Slack still sends it; it must never be logged
_n = itertools.count(1)


@dataclass
class Answer:
    status: int
    body: str
    seconds: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}


class SlackAgent:
    def __init__(self, url: str, secret: str, *, response_base: str):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.secret = secret
        self.response_base = response_base  # the fake's /response/ endpoint

    def send(
        self,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Answer:
        out = {"Content-Type": content_type}
        if signed:
            out.update(sign(self.secret, body, timestamp if timestamp is not None else int(time.time())))
        out.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("POST", self.path, body=body, headers=out)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        return Answer(response.status, text, time.perf_counter() - started)

    # -- payloads ---------------------------------------------------------------------------------------
    def command_body(self, text: str, *, user: str, channel: str = "C0GENERAL", response: str | None = None) -> bytes:
        n = next(_n)
        return urlencode(
            {
                "token": VERIFICATION_TOKEN,
                "team_id": "T0BRAND",
                "team_domain": "brand",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/crisis",
                "text": text,
                "api_app_id": "A0RUNBOOK",
                "is_enterprise_install": "false",
                "response_url": f"{self.response_base}{response or f'cmd-{n}'}",
                "trigger_id": f"trig.cmd.{n}",
            }
        ).encode()

    def command(self, text: str, *, user: str, **kwargs: Any) -> Answer:
        return self.send(self.command_body(text, user=user, **kwargs))

    def click_body(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str = "C0GENERAL",
        ts: str = "1.0",
        trigger_id: str | None = None,
        response: str | None = None,
    ) -> bytes:
        n = next(_n)
        payload = {
            "type": "block_actions",
            "token": VERIFICATION_TOKEN,
            "api_app_id": "A0RUNBOOK",
            "team": {"id": "T0BRAND", "domain": "brand"},
            "user": {"id": user, "team_id": "T0BRAND"},
            "trigger_id": trigger_id or f"trig.click.{n}",
            "response_url": f"{self.response_base}{response or f'click-{n}'}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel},
            "message": {"ts": ts, "type": "message"},
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "signoff",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def click(self, action_id: str, value: str, *, user: str, **kwargs: Any) -> Answer:
        return self.send(self.click_body(action_id, value, user=user, **kwargs))

    def submit_body(
        self,
        callback_id: str,
        private_metadata: str,
        values: dict[str, Any],
        *,
        user: str,
        view_id: str | None = None,
        blocks: list[dict] | None = None,
    ) -> bytes:
        payload = {
            "type": "view_submission",
            "token": VERIFICATION_TOKEN,
            "api_app_id": "A0RUNBOOK",
            "team": {"id": "T0BRAND", "domain": "brand"},
            "user": {"id": user, "team_id": "T0BRAND"},
            "trigger_id": f"trig.view.{next(_n)}",
            "view": {
                "id": view_id or f"V{next(_n):08d}",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "hash": "h1",
                "blocks": blocks or [],
                "state": {"values": values},
            },
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def submit(self, callback_id: str, private_metadata: str, values: dict[str, Any], *, user: str, **kwargs) -> Answer:
        return self.send(self.submit_body(callback_id, private_metadata, values, user=user, **kwargs))


# -- view state as Slack sends it ---------------------------------------------------------------------
def text_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def number_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "number_input", "value": value}}


def select_value(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"value": value} if value else None}}


def checkbox_value(checked: bool) -> dict[str, Any]:
    return {"value": {"type": "checkboxes", "selected_options": [{"value": "true"}] if checked else []}}
