"""The Resume button on an incident's failure message: the message carries an opaque token
(recorded with the message in the trail); a click by a roster person resumes the incident through
`runbook.engine.resume`, audited with channel "slack"; anyone else is refused and recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from runbook.audit import events, list_incidents
from runbook.slack import blocks as bk

RESUME = "incident.resume"


def failure_blocks(text: str, token: str) -> list[dict[str, Any]]:
    button = {"type": "button", "action_id": RESUME, "style": "primary", "value": token, "text": bk.plain("Resume", 24)}
    return [
        *bk.fit(bk.text_sections(text), max_blocks=bk.MAX_BLOCKS - 1),
        {"type": "actions", "block_id": "resume", "elements": [button]},
    ]


def new_token() -> str:
    return secrets.token_urlsafe(16)


def find_incident(db: Any, token: str) -> Any:
    """The failed incident whose failure message carries `token` (only failed ones can resume)."""
    if not token:
        return None
    for incident in list_incidents(db, status="failed"):
        for event in events(db, incident.id):
            if event.action == "chat.posted" and (event.details or {}).get("resume_token") == token:
                return incident
    return None


def on_resume_click(
    *,
    services: Any,
    access: Any,
    token: str,
    slack_user: str,
    reply: Callable[[str], None],
    resume: Callable[..., Any] | None = None,
) -> None:
    """Runs after the ack."""
    from runbook.engine.commands import CommandError

    incident = find_incident(services.db, token)
    if incident is None:
        reply("This incident is not failed any more (resumed, or closed): `/crisis status` shows where it is.")
        return
    person = access.person(slack_user)
    if person is None:
        access.refuse(
            slack_user=slack_user, what="incident.resume", incident_id=incident.id, reason="not in the roster"
        )
        reply("You are not in the incident roster, so the incident was not resumed (and your click was recorded).")
        return
    if resume is None:
        from runbook.engine.resume import resume as engine_resume

        resume = engine_resume
    try:
        done = resume(
            services=services,
            incident_ref=incident.id,
            person=person.id,
            via="slack",
            reason=f"Resume button in Slack ({slack_user})",
        )
    except CommandError as exc:
        reply(f"Not resumed: {bk.escape(str(exc))}")
        return
    reply(f"▶️ {bk.escape(incident.slug)} resumed from `{bk.escape(done.start_at)}` by {bk.escape(person.id)}.")
