"""The audit action names the post-mortem reads, and how it tells which playbook step plays which
doctrine part. docs/postmortem.md lists them with the details read and who writes each.
"""

from __future__ import annotations

# Written today by the engine (runbook/engine) and the post queue (runbook/queue).
INCIDENT_STARTED = "incident.started"
CLOSING = {"incident.completed": "completed", "incident.failed": "failed", "incident.cancelled": "cancelled"}
FLOW_START_FAILED = "flow.start_failed"
STEP_STARTED = "step.started"
# The engine writes step.finished; step.completed is the name docs/audit.md used first.
STEP_FINISHED = frozenset({"step.finished", "step.completed"})
STEP_SKIPPED = "step.skipped"
STEP_FAILED = "step.failed"
STEP_ATTEMPT_FAILED = "step.attempt_failed"
SIGNOFF_REQUESTED = "signoff.requested"
SIGNOFF_APPROVED = "signoff.approved"
SIGNOFF_GRANTED = "signoff.granted"
SIGNOFF_REJECTED = "signoff.rejected"
SIGNOFF_REFUSED = "signoff.refused"
SIGNOFF_ESCALATED = "signoff.escalated"
SIGNOFF_TIMED_OUT = "signoff.timed_out"
FREEZE_CREATED = "freeze.created"
POST_FROZEN = "post.frozen"
POST_RELEASED = "post.released"
POST_RESCHEDULED = "post.rescheduled"
POST_KILLED = "post.killed"
POST_PUBLISHED = "post.published"
THAW_PROPOSED = "thaw.proposed"
THAW_APPLIED = "thaw.applied"
POST_HELD = "post.held"

# Listening (runbook/listen, issue 5): the spike alert that started or joined the incident; its
# details name the alert (a listen_alert row) and the likely trigger post (mentions answer it).
ALERT_LINKED = "listen.alert_linked"
# The statement and the replies (runbook/messaging and their step kinds, issue 6).
STATEMENT_DRAFTED = "statement.drafted"
STATEMENT_EDITED = "statement.edited"
STATEMENT_CHECKED = "statement.checked"
STATEMENT_APPROVED = "statement.approved"
STATEMENT_REFUSED = "statement.refused"
STATEMENT_PUBLISHED = "statement.published"
FREEZE_EXCEPTION = "freeze.exception"
REPLIES_PLANNED = "replies.planned"
REPLY_DRAFTED = "reply.drafted"
REPLY_SENT = "reply.sent"
REPLY_SKIPPED = "reply.skipped"
REPLY_FAILED = "reply.failed"

# Written by this package (runbook.postmortem.reminders).
FOLLOWUP_SCHEDULED = "followup.scheduled"
FOLLOWUP_REMINDED = "followup.reminded"

# Which step plays which part of the doctrine: by the kind it uses (step.started details["uses"])
# or, for the shipped playbooks' manual steps, by its id.
ROLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "freeze": (frozenset({"freeze_posts"}), frozenset({"freeze"})),
    "assess": (frozenset({"assess_impact"}), frozenset({"assess"})),
    "delete": (frozenset({"delete_post"}), frozenset({"delete-decision", "delete"})),
    "convene": (frozenset({"convene_teams"}), frozenset({"convene", "convene-management", "convene-hr"})),
    "statement": (frozenset({"draft_statement"}), frozenset({"statement"})),
    "publish": (frozenset({"publish"}), frozenset({"publish"})),
    "replies": (frozenset({"reply_individually"}), frozenset({"replies"})),
    "thaw": (frozenset({"thaw_posts"}), frozenset({"thaw"})),
    "prevention": (frozenset(), frozenset({"connected-accounts"})),
    "review": (frozenset({"postmortem"}), frozenset({"review"})),
}

# The sign-off field holding the policy follow-ups (the shipped playbooks' review step).
FOLLOW_UPS_FIELD = "follow_ups"
