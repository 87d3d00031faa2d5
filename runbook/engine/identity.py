"""How a sign-off's identity was established, as evidence: the Slack app and the CLI attest each
decision in the incident's audit trail before sending it; the flow matches the decision to that
attestation. Anything else (the Prefect UI, a resume through the Prefect API) is a claim.

Prefect's open-source server records no identity and anyone with API access may resume a run,
but only our own processes can append to the audit trail, so an attestation is what proves it.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

ATTESTED = "identity.attested"
SLACK, CLI, CLAIM = "slack-signature", "os-user", "claim"


def attest(
    db: Any, *, incident_id: str, decision_id: str, person: str, channel: str, evidence: Mapping[str, Any]
) -> None:
    """Record, before a decision is sent, who sent it and how that is known."""
    from runbook.audit import append

    append(
        db,
        incident_id=incident_id,
        actor=person,
        channel=channel,
        action=ATTESTED,
        details={"decision_id": decision_id, **evidence},
    )


def cli_evidence() -> dict[str, Any]:
    """The OS account running this process: what the CLI can prove about its user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}"
    return {"method": CLI, "os_user": user, "uid": os.getuid(), "host": socket.gethostname()}


def slack_evidence(slack_user: str) -> dict[str, Any]:
    """A Slack user id taken from a request whose signature was verified on its raw bytes."""
    return {"method": SLACK, "slack_user": slack_user}


def establish(events: list[Any], *, decision_id: str, person: str, channel: str, roster: Any) -> dict[str, Any]:
    """The identity of one decision, judged from the incident's events.

    Returns {"method", "verified", "as"}: `as` is "slack" or "cli" when verified, else None.
    A decision claiming channel slack or cli without a matching attestation is a claim.
    """
    found = next(
        (
            e
            for e in events
            if e.action == ATTESTED and (e.details or {}).get("decision_id") == decision_id and decision_id
        ),
        None,
    )
    if found is None or found.actor != person or found.channel != channel:
        out: dict[str, Any] = {"method": CLAIM, "verified": False, "as": None}
        if channel in ("slack", "cli"):
            out["claimed_channel"] = channel
        return out
    details = found.details or {}
    who = roster.person(person)
    if details.get("method") == SLACK:
        verified = who is not None and who.slack_id is not None and who.slack_id == details.get("slack_user")
        return {
            "method": SLACK,
            "verified": verified,
            "as": "slack" if verified else None,
            "slack_user": details.get("slack_user"),
        }
    if details.get("method") == CLI:
        mapped = getattr(roster, "cli_users", {}).get(str(details.get("os_user")))
        verified = mapped == person
        return {
            "method": CLI,
            "verified": verified,
            "as": "cli" if verified else None,
            "os_user": details.get("os_user"),
            **({"maps_to": mapped} if mapped and not verified else {}),
        }
    return {"method": CLAIM, "verified": False, "as": None}


def required(roster: Any, settings: Any, step_id: str) -> tuple[str, ...]:
    """How the sign-offs of `step_id` must be identified ("slack", "cli"); () when a claim will do.
    The roster's `require_identity` and the settings' (RUNBOOK_REQUIRE_IDENTITY) both apply."""
    out: list[str] = []
    for source in (getattr(roster, "require_identity", {}) or {}, getattr(settings, "require_identity", {}) or {}):
        for key in (step_id, "*"):
            for method in source.get(key, []):
                if method not in out:
                    out.append(method)
    return tuple(out)
