"""The phases of one call of the `reply_individually` step, over (engine, scope): record the new
people, draft what is pending, flag near-duplicates, apply the approvers' decision to the batch
they saw, send what is approved, settle the trail, and the outputs. The step itself (reading its
parameters and services) is `runbook.steps.reply_individually`. Every phase reads and writes the
tracking table, so any call may be the one after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from runbook.audit.models import as_utc
from runbook.messaging import tracking as tr
from runbook.messaging.audience import Person
from runbook.messaging.errors import ReviewError
from runbook.messaging.grouping import Filtered
from runbook.messaging.replies import ReplyDrafter
from runbook.messaging.sending import Limiter, RateLimit
from runbook.messaging.tracking import Scope
from runbook.ports.channel import Receipt

__all__ = [
    "Audit",
    "ReplyChannel",
    "decide",
    "draft_pending",
    "flag",
    "outputs",
    "plan_people",
    "review_text",
    "reviewed_batch",
    "send",
    "settle_audits",
]

PLANNED_CHUNK = 500
REVIEW_CHARS = 15_000  # under the engine's 20,000-character limit on a rendered prompt

Audit = Callable[[str, Mapping[str, Any]], None]  # appends an event for the incident and step


@runtime_checkable
class ReplyChannel(Protocol):
    """What sending replies needs of a channel: the reply, and a receipt found by its key."""

    def reply(self, *, account: str, platform: str, to_ref: str, text: str, key: str) -> Receipt: ...

    def find(self, key: str) -> Receipt | None: ...


# -- gather -----------------------------------------------------------------------------------
def plan_people(
    engine: Any,
    scope: Scope,
    fresh: Sequence[Person],
    *,
    key_prefix: str,
    since: datetime,
    until: datetime,
    filtered: Filtered,
    audit: Audit,
) -> list[Person]:
    """Tracks the people not tracked yet (pending) and records them in the trail, in chunks."""
    added = tr.add_people(engine, scope, fresh, key_prefix=key_prefix)
    for start in range(0, len(added), PLANNED_CHUNK):
        chunk = added[start : start + PLANNED_CHUNK]
        audit(
            "replies.planned",
            {
                "people": [{"person": p.key, "mentioned_at": as_utc(p.first_at).isoformat()} for p in chunk],
                "window": [since.isoformat(), until.isoformat()],
                "filter": {k: v for k, v in filtered.to_dict().items() if k != "groups"},
            },
        )
    return added


# -- draft and flag ---------------------------------------------------------------------------
def draft_pending(engine: Any, scope: Scope, drafter: ReplyDrafter) -> int:
    rows = tr.select(engine, scope, statuses=["pending"])
    changes = []
    for row in rows:
        drafted = drafter.draft(row)
        flags = {k: v for k, v in (row.flags or {}).items() if k != "blocked"}  # keeps the concern group
        if drafted.blocked:
            flags["blocked"] = [f["rule"] for f in drafted.findings if f["severity"] == "block"]
        changes.append(
            {
                "id": row.id,
                "draft": drafted.text,
                "text": drafted.text,
                "findings": drafted.findings,
                "flags": flags,
                "status": "drafted",
            }
        )
    return tr.update_rows(engine, changes, only_status="pending")


def flag(engine: Any, scope: Scope, threshold: float) -> int:
    from runbook.messaging.replies import flag_near_duplicates

    rows = tr.select(engine, scope, statuses=["drafted", "approved", "sent"])
    found = flag_near_duplicates(rows, threshold=threshold)
    changes = []
    for row in rows:
        if row.status != "drafted":
            continue
        flags = dict(row.flags or {})
        wanted = found.get(row.id)
        if flags.get("near_duplicate") != wanted:
            flags.pop("near_duplicate", None)
            if wanted:
                flags["near_duplicate"] = wanted
            changes.append({"id": row.id, "flags": flags})
    tr.update_rows(engine, changes, only_status="drafted")
    return len(found)


# -- decide -----------------------------------------------------------------------------------
def reviewed_batch(engine: Any, scope: Scope, shown: Any) -> int | None:
    """The batch the approvers saw (the step's last outputs), else the open one."""
    return int(shown) if shown else tr.open_batch(engine, scope)


def _approver(decision: Mapping[str, Any]) -> str:
    approvers = decision.get("approvers") or []
    return str(decision.get("person") or (approvers[-1] if approvers else "") or "unknown")


def decide(
    engine: Any, scope: Scope, drafter: ReplyDrafter, *, batch: int | None, decision: Mapping[str, Any], audit: Audit
) -> None:
    """Applies the approvers' lines to `batch`, once; raises ReviewError (nothing changed) on a bad line."""
    from runbook.messaging.review import parse_actions

    if batch is None or tr.batch_decided(engine, scope, batch):
        return  # a rerun of a decision already applied
    actions = parse_actions(decision.get("actions"))
    rows = tr.select(engine, scope, statuses=["drafted"], batch=batch)
    by_ref = {f"r{r.id}": r for r in rows} | {r.author.casefold(): r for r in rows}
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(str(((r.flags or {}).get("group") or {}).get("id", "other")).casefold(), []).append(r)
    actions = _expand_groups(actions, groups, by_ref)
    unknown = [a.ref for a in actions.values() if a.ref not in by_ref]
    if unknown:
        raise ReviewError(f"not in batch {batch}: {', '.join(unknown)}")
    approve_flagged = bool(decision.get("approve_flagged"))
    by = _approver(decision)
    changes, summary, edits = [], {"approved": 0, "skipped": 0, "held": 0, "edited": 0, "edit_blocked": 0}, []
    for row in rows:
        action = actions.get(f"r{row.id}") or actions.get(row.author.casefold())
        flags = dict(row.flags or {})
        verb = (
            action.verb
            if action
            else ("approve" if _clean(flags) or (approve_flagged and not _blocked(flags)) else "hold")
        )
        if verb == "approve" and _blocked(flags):
            verb = "hold"  # a blocked draft is never sent as is: it needs an edit
        if verb == "edit" and action is not None:  # an edit is always a line's
            findings = drafter.check(row, action.text)
            if any(f["severity"] == "block" for f in findings):
                flags["edit_blocked"] = [f["rule"] for f in findings if f["severity"] == "block"]
                changes.append({"id": row.id, "text": action.text, "findings": findings, "flags": flags, "batch": None})
                summary["edit_blocked"] += 1
                continue
            flags.pop("edit_blocked", None)
            flags.pop("blocked", None)
            changes.append(
                {
                    "id": row.id,
                    "text": action.text,
                    "findings": findings,
                    "flags": flags,
                    "status": "approved",
                    "decided_by": by,
                }
            )
            edits.append({"person": row.person, "by": by})
            summary["edited"] += 1
        elif verb == "approve":
            changes.append({"id": row.id, "status": "approved", "decided_by": by})
            summary["approved"] += 1
        elif verb == "skip":
            changes.append({"id": row.id, "status": "skipped", "decided_by": by, "audited": False})
            summary["skipped"] += 1
        else:
            changes.append({"id": row.id, "batch": None})
            summary["held"] += 1
    if tr.close_batch(engine, scope, batch, changes=changes, by=by, summary=summary):
        audit("replies.reviewed", {"batch": batch, "by": by, **summary})
        for edit in edits:
            audit("reply.edited", edit)


def _expand_groups(actions: dict[str, Any], groups: dict[str, list[Any]], by_ref: dict[str, Any]) -> dict[str, Any]:
    """'c2: text' or 'c2 skip' acts on every reply of concern group c2 in the batch; in a group's new
    text {handle} and {quote} are filled per person. A line for one reply beats its group's line."""
    from dataclasses import replace

    from runbook.messaging.concerns import quote_of

    out = {ref: a for ref, a in actions.items() if not (ref in groups and ref not in by_ref)}
    for ref, action in actions.items():
        if ref not in groups or ref in by_ref:
            continue
        for row in groups[ref]:
            key = f"r{row.id}"
            if key in out or row.author.casefold() in out:
                continue
            quote = ((row.flags or {}).get("group") or {}).get("quote") or quote_of(row.said, language=row.language)
            text = action.text.replace("{handle}", f"@{row.author}").replace("{quote}", quote) if action.text else ""
            out[key] = replace(action, ref=key, text=text)
    return out


def _blocked(flags: dict[str, Any]) -> bool:
    return bool(flags.get("blocked") or flags.get("edit_blocked"))


def _clean(flags: dict[str, Any]) -> bool:
    return not _blocked(flags) and not flags.get("near_duplicate")


# -- send -------------------------------------------------------------------------------------
def send(engine: Any, scope: Scope, channel: ReplyChannel, *, limit: RateLimit, max_attempts: int, audit: Audit) -> int:
    """Sends the approved replies (and failed ones with attempts left) within `limit` per account."""
    due = tr.select(engine, scope, statuses=["approved"]) + [
        r for r in tr.select(engine, scope, statuses=["failed"]) if r.attempts < max_attempts
    ]
    limiters: dict[tuple[str, str], Limiter] = {}
    sent = 0
    for row in due:
        group = (row.platform, row.account)
        if group not in limiters:
            limiters[group] = Limiter(
                limit, tr.send_history(engine, platform=row.platform, account=row.account, count=limit.count)
            )
        if send_one(engine, channel, row, limiters[group], audit):
            sent += 1
    return sent


def send_one(engine: Any, channel: ReplyChannel, row: Any, limiter: Limiter, audit: Audit) -> bool:
    # A receipt under this person's key means an earlier run reached the network: no second send.
    receipt = channel.find(row.key)
    recovered = receipt is not None
    if receipt is None:
        limiter.wait()
        tr.set_row(engine, row.id, attempts=row.attempts + 1, attempt_at=as_utc(None))
        try:
            receipt = channel.reply(
                account=row.account, platform=row.platform, to_ref=row.to_ref, text=row.text, key=row.key
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the person, retried on a later call
            limiter.done()
            tr.set_row(engine, row.id, status="failed", error=f"{type(exc).__name__}: {exc}"[:1000], audited=False)
            return False
        limiter.done()
    # The event first, then the row (sent and audited in one write): a crash in between leaves the
    # row to a later call, which finds the receipt and, after a crash, the event too.
    if not (recovered and _in_trail(engine, row, "reply.sent")):
        audit("reply.sent", _details(row, "sent", ref=receipt.ref))
    tr.set_row(
        engine,
        row.id,
        status="sent",
        ref=receipt.ref,
        error=None,
        audited=True,
        sent_at=as_utc(receipt.at) if receipt.at else as_utc(None),
    )
    return True


def _in_trail(engine: Any, row: Any, action: str) -> bool:
    from runbook.audit import events

    return any(
        e.action == action and (e.details or {}).get("reply") == f"r{row.id}"
        for e in events(engine, row.incident_id)
        if e.step == row.step_id
    )


def settle_audits(engine: Any, scope: Scope, audit: Audit) -> None:
    """Terminal states whose event a crash kept from the trail get it now, once: a crash between
    the append and marking the row audited left the event there already."""
    unsettled = [r for r in tr.select(engine, scope, statuses=["sent", "skipped", "failed"]) if not r.audited]
    if not unsettled:
        return
    from runbook.audit import events

    recorded = {
        (e.action, (e.details or {}).get("reply"), (e.details or {}).get("attempts"))
        for e in events(engine, scope.incident_id)
        if e.step == scope.step_id and e.action.startswith("reply.")
    }
    for row in unsettled:
        attempts = row.attempts if row.status == "failed" else None
        if (f"reply.{row.status}", f"r{row.id}", attempts) not in recorded:
            audit(f"reply.{row.status}", _details(row, row.status))
        tr.set_row(engine, row.id, audited=True)


def _details(row: Any, status: str, *, ref: str | None = None) -> dict[str, Any]:
    details = {
        "person": row.person,
        "platform": row.platform,
        "mentioned_at": as_utc(row.mentioned_at).isoformat(),
        "reply": f"r{row.id}",
    }
    if status == "sent":
        details |= {"ref": ref or row.ref, "key": row.key, "to": row.to_ref, "by": row.decided_by}
    elif status == "failed":
        details |= {"error": row.error, "attempts": row.attempts}
    else:
        details |= {"by": row.decided_by}
    return details


# -- outputs ----------------------------------------------------------------------------------
def outputs(
    engine: Any, scope: Scope, *, batch: int | None, added: int, sent: int, error: str, filtered: Filtered | None = None
) -> dict[str, Any]:
    """The step's outputs as plain data; runbook.steps.reply_individually builds ReplyOutputs from it."""
    from runbook.messaging.templates import slack_escape

    counts = tr.counts(engine, scope)
    rows = tr.select(engine, scope, statuses=["drafted"], batch=batch) if batch else []
    items = [item(r) for r in rows]
    people = sum(counts.values())
    flagged = sum(1 for r in tr.select(engine, scope, statuses=["drafted"]) if (r.flags or {}).get("near_duplicate"))
    review = review_text(batch, items, counts, error, filtered=filtered)
    table = [{"status": s, "people": n} for s, n in counts.items()]
    groups: dict[str, dict[str, Any]] = {}
    for r in tr.select(engine, scope):
        g = (r.flags or {}).get("group") or {"id": "other", "label": "other", "topic": "general"}
        entry = groups.setdefault(
            g["id"], {"id": g["id"], "label": g.get("label", ""), "topic": g.get("topic"), "people": []}
        )
        entry["people"].append(r.author)
    return dict(
        phase="review" if batch else "done",
        awaiting_review=batch is not None,
        batch=batch,
        items=items,
        review=review,
        review_slack=slack_escape(review),
        coverage=counts,
        people=people,
        answered=counts["sent"],
        coverage_percent=round(100.0 * counts["sent"] / people, 1) if people else 100.0,
        near_duplicates=flagged,
        added=added,
        sent=sent,
        table=table,
        error=error,
        filtered={k: v for k, v in (filtered.to_dict() if filtered else {}).items() if k != "groups"},
        groups=sorted(groups.values(), key=lambda g: (g["id"] == "other", -len(g["people"]), g["id"])),
    )


def item(row: Any) -> dict[str, Any]:
    flags = row.flags or {}
    group = flags.get("group") or {"id": "other", "label": "other", "topic": "general"}
    return {
        "id": f"r{row.id}",
        "person": row.person,
        "handle": row.author,
        "platform": row.platform,
        "language": row.language,
        "concern": row.concern,
        "said": row.said,
        "draft": row.text,
        "group": group.get("id"),
        "group_label": group.get("label", ""),
        "topic": group.get("topic", "general"),
        "groups": [g.get("id") for g in flags.get("groups") or [group]],
        "near_duplicate": flags.get("near_duplicate"),
        "blocked": flags.get("edit_blocked") or flags.get("blocked"),
        "warnings": sorted({f["rule"] for f in (row.findings or []) if f["severity"] == "warn"}),
    }


def review_text(
    batch: int | None, items: list[dict[str, Any]], counts: dict[str, int], error: str, filtered: Filtered | None = None
) -> str:
    head = (
        f"Answered {counts['sent']} of {sum(counts.values())} people; skipped {counts['skipped']}, "
        f"failed {counts['failed']}."
    )
    if filtered is not None and filtered.people:
        head += (
            f" Filter '{filtered.rule}': {filtered.kept} of {filtered.people} people heard need an answer; "
            f"{filtered.skipped} wrote only positive or neutral mentions and get no reply."
        )
    if batch is None:
        return head + " Nothing left to review."
    lines = ([f"Your last lines could not be applied: {error}", ""] if error else []) + [
        head,
        f"Batch {batch}: {len(items)} replies, by concern. Unlisted replies are approved, except flagged ones "
        "(tick approve_flagged, or list them: 'r17 approve'). 'r17 skip', 'r17 hold', 'r17: new text'; "
        "for a whole concern group: 'c2: new text' ({handle} and {quote} are filled per person) or 'c2 skip'.",
        "",
    ]
    by_group: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_group.setdefault(it.get("group") or "other", []).append(it)
    for group, members in sorted(by_group.items(), key=lambda kv: (kv[0] == "other", -len(kv[1]), kv[0])):
        first = members[0]
        flagged = sum(1 for it in members if it["near_duplicate"])
        lines.append(
            f"== {group}: {first.get('group_label') or 'other'} ({first.get('topic')}): {len(members)} "
            f"people" + (f", {flagged} near-duplicates" if flagged else "")
        )
        for it in members:
            marks = []
            if it["near_duplicate"]:
                marks.append(f"NEAR-DUPLICATE of {it['near_duplicate']['of']} ({it['near_duplicate']['score']:.2f})")
            if it["blocked"]:
                marks.append(f"BLOCKED {', '.join(it['blocked'])}")
            also = [g for g in it.get("groups") or [] if g != group]
            lines.append(
                f"{it['id']} @{it['handle']} ({it['platform']}, {it['language']}, {it['concern']})"
                + (f" also {', '.join(also)}" if also else "")
                + (f" [{'; '.join(marks)}]" if marks else "")
            )
            lines.append(f"   said:  {it['said']}")
            lines.append(f"   reply: {it['draft']}")
        lines.append("")
    text = "\n".join(lines).rstrip()
    if len(text) > REVIEW_CHARS:  # a sign-off prompt is rendered with a size limit: the items hold it all
        cut = text[:REVIEW_CHARS].rsplit("\nr", 1)[0]
        shown = cut.count("\n   reply: ")
        text = cut + f"\n... and {len(items) - shown} more replies: see the step's outputs (items)"
    return text
