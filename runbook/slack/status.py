"""Rendering an incident for Slack from its audit trail alone: the pinned status message (steps with
their state, pending sign-offs, who may sign) and one timeline line per event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runbook.slack import blocks as bk

MARKS = {"pending": "▫️", "running": "⏳", "waiting": "✋", "completed": "✅", "skipped": "⏭️", "failed": "❌"}
STATUS_MARKS = {"open": "🟡", "running": "🔵", "waiting": "✋", "completed": "✅", "failed": "❌", "cancelled": "⛔"}
# Our own bookkeeping and the chat messages (posted on their own) are not echoed.
QUIET = ("chat.posted", "slack.", "flow.launched")  # machine bookkeeping: nothing for the room


def _hm(ts: datetime | None) -> str:
    return (ts or datetime.now(UTC)).astimezone(UTC).strftime("%H:%M:%S UTC")


def step_states(evts: list[Any]) -> tuple[list[str], dict[str, str], dict[str, dict[str, Any]]]:
    """(step ids in plan order, state of each, open sign-off details by step)."""
    order: list[str] = []
    state: dict[str, str] = {}
    pending: dict[str, dict[str, Any]] = {}
    finished: set[str] = set()  # a finished step never shows as unfinished again
    for e in evts:
        d = e.details or {}
        if e.action == "incident.started":
            order = list(d.get("steps") or [])
            state = {s: "pending" for s in order}
        elif e.step is None:
            continue
        elif e.action == "step.started":
            if e.step not in finished:
                state[e.step] = "running"
        elif e.action in ("step.finished", "step.applied"):
            state[e.step] = "completed"
            finished.add(e.step)
        elif e.action == "step.skipped":
            state[e.step] = "skipped"
            pending.pop(e.step, None)
        elif e.action == "step.failed":
            state[e.step] = "failed"
        elif e.action in ("signoff.requested", "signoff.escalated"):
            if e.step not in finished:  # a finished step awaiting its "after" gate stays done (listed below)
                state[e.step] = "waiting"
            pending[e.step] = {
                **pending.get(e.step, {}),
                **d,
                "approvals": pending.get(e.step, {}).get("approvals", []),
            }
        elif e.action == "signoff.approved" and e.step in pending:
            pending[e.step]["approvals"] = list(d.get("approvals", []))
        elif e.action in ("signoff.granted", "signoff.rejected"):
            pending.pop(e.step, None)
            if state.get(e.step) == "waiting":
                # An "after" gate approves a finished step (the freeze): it stays done.
                if e.action == "signoff.rejected":
                    state[e.step] = "failed"
                else:  # granted before the work: the step runs now, it never goes back to pending
                    state[e.step] = "completed" if e.step in finished else "running"
    return order, state, pending


def who(ids: list[str], roster: Any) -> str:
    """Roster ids as Slack mentions where the person has a Slack id (mentions notify them)."""
    out = []
    for person_id in ids:
        person = roster.person(person_id) if roster is not None else None
        out.append(f"<@{person.slack_id}>" if person is not None and person.slack_id else bk.escape(person_id))
    return ", ".join(out) or "nobody"


def links(incident: Any, evts: list[Any], ui_url: str | None) -> list[str]:
    """Where to look further: the Prefect flow run, and the post-mortem once written (its Prefect
    artifact, and the command that renders it)."""
    base = ui_url.rstrip("/") if ui_url else None
    out = []
    if base and incident.flow_run_id:
        out.append(f"<{base}/runs/flow-run/{incident.flow_run_id}|Prefect flow run>")
    for e in evts:
        outputs = (e.details or {}).get("outputs") if e.action == "step.finished" else None
        artifact = outputs.get("artifact") if isinstance(outputs, dict) else None
        if isinstance(artifact, str) and artifact.endswith("-postmortem"):
            if base:
                out.append(f"<{base}/artifacts/key/{artifact}|Post-mortem>")
            out.append(f"post-mortem: `runbook postmortem {bk.escape(incident.slug)} --format html`")
    return out


def status_blocks(
    incident: Any, evts: list[Any], roster: Any = None, ui_url: str | None = None
) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of the pinned status message."""
    order, state, pending = step_states(evts)
    mark = STATUS_MARKS.get(incident.status, "•")
    head = f"{mark} {incident.slug}: {incident.status}"
    out: list[dict] = [bk.header(f"{mark} {incident.title or incident.slug}")]
    out.append(
        {
            "type": "section",
            "fields": [
                bk.mrkdwn(f"*Status*\n{bk.escape(incident.status)}"),
                bk.mrkdwn(f"*Playbook*\n{bk.escape(incident.playbook_id)} v{incident.playbook_version}"),
                bk.mrkdwn(f"*Started by*\n{who([incident.requester], roster)}"),
                bk.mrkdwn(f"*Incident*\n`{bk.escape(incident.slug)}`"),
            ],
        }
    )
    lines = [f"{MARKS.get(state.get(s, 'pending'), '▫️')} `{bk.escape(s)}`" for s in order]
    if lines:
        out.extend(bk.section(chunk) for chunk in _join(lines))
    for step, d in pending.items():
        need = int(d.get("quorum", 1))
        got = d.get("approvals", [])
        text = (
            f"✋ *Sign-off for `{bk.escape(step)}`*"
            + (" (escalated)" if d.get("phase") else "")
            + f"\nmay sign: {who(list(d.get('signers', [])), roster)}"
            + (f"\napprovals: {len(got)} of {need}" if need > 1 else "")
            + (f"\ndeadline: {bk.escape(d['deadline'])}" if d.get("deadline") else "")
        )
        out.append(bk.section(text))
    found = links(incident, evts, ui_url)
    if found:
        out.append(bk.section(" · ".join(found)))
    last = evts[-1] if evts else None
    out.append(
        bk.context(
            f"Updated {_hm(None)} · {len(evts)} audit events"
            + (f" · last: `{bk.escape(last.action)}`" if last is not None else "")
        )
    )
    return head, bk.fit(out, keep_tail=1)


def _join(lines: list[str]) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        if len(current) + len(line) + 1 > bk.MAX_SECTION:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return chunks + ([current] if current else [])


def timeline_line(event: Any) -> str | None:
    """One mrkdwn line for an audit event, or None for events not echoed."""
    if event.action.startswith(QUIET):
        return None
    d = event.details or {}
    bits = [f"`#{event.seq}` {_hm(event.ts)}", bk.escape(event.actor)]
    if event.channel != "flow":
        bits[-1] += f" ({event.channel})"
    what = f"*{bk.escape(event.action)}*" + (f" `{bk.escape(event.step)}`" if event.step else "")
    bits.append(what)
    note = d.get("reason") or d.get("error") or d.get("title") or ""
    if event.action == "signoff.approved" and d.get("approvals"):
        note = f"{len(d['approvals'])} of {d.get('quorum', 1)} approvals"
    if note:
        bits.append(bk.escape(bk.clip(str(note), 300)))
    return " · ".join(bits)
