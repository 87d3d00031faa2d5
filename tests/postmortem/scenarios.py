"""The three doctrine incidents as scripted audit trails with known timings, modelled on what the
engine, the post queue, listening and the statement and reply kinds record (docs/postmortem.md
lists the names). Each builder returns the incident and the numbers its report must show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from runbook import audit
from runbook.postmortem import build_report, reminders

M, H = 60, 3600


@dataclass
class Script:
    engine: sa.Engine
    t0: datetime
    incident: audit.Incident
    stop_after: float | None = None  # a running incident: nothing is appended after this offset

    def at(
        self,
        offset: float,
        action: str,
        *,
        step: str | None = None,
        actor: str = "system",
        channel: str = "flow",
        **details: Any,
    ) -> audit.AuditEvent | None:
        if self.stop_after is not None and offset > self.stop_after:
            return None
        return audit.append(
            self.engine,
            incident_id=self.incident.id,
            actor=actor,
            channel=channel,
            action=action,
            step=step,
            details=details,
            now=self.t0 + timedelta(seconds=offset),
        )

    def iso(self, offset: float) -> str:
        return (self.t0 + timedelta(seconds=offset)).isoformat()

    def step(self, start: float, end: float, step: str, uses: str, **outputs: Any) -> None:
        """step.started then step.finished, as runbook.engine.execute records them."""
        self.at(start, "step.started", step=step, attempt=1, uses=uses, title=step)
        self.at(end, "step.finished", step=step, attempt=1, outputs=outputs)

    def gate(
        self, step: str, asked: float, decisions: list[tuple], *, quorum: int = 1, signers: list[str] | None = None
    ) -> None:
        """signoff.requested, then each decision (offset, verdict, person, channel, fields, extra details), then
        signoff.granted on reaching the quorum, as runbook.engine.signoff records them."""
        self.at(
            asked,
            "signoff.requested",
            step=step,
            quorum=quorum,
            signers=signers or [],
            roles=[],
            at="before",
            phase=0,
            deadline=None,
            fields=[],
            prompt=f"Approve {step}",
            not_requester=quorum > 1,
        )
        approvals: list[str] = []
        merged: dict[str, Any] = {}
        for offset, verdict, person, channel, fields, *extra in decisions:
            more = extra[0] if extra else {}
            if verdict == "refused":
                self.at(
                    offset,
                    "signoff.refused",
                    step=step,
                    actor=person,
                    channel=channel,
                    reason=more["reason"],
                    approvals=list(approvals),
                    quorum=quorum,
                )
                continue
            if verdict == "timeout":
                self.at(
                    offset, "signoff.timed_out", step=step, reason="the deadline passed", approvals=[], quorum=quorum
                )
                self.at(offset, "signoff.escalated", step=step, to=more["to"], signers=more["to"], phase=1)
                continue
            approvals.append(person)
            merged.update(fields)
            self.at(
                offset,
                "signoff.approved",
                step=step,
                actor=person,
                channel=channel,
                fields=fields,
                approvals=list(approvals),
                quorum=quorum,
                reason=f"{len(approvals)} of {quorum} approvals",
                **({"comment": more["comment"]} if "comment" in more else {}),
            )
            if len(approvals) >= quorum:
                self.at(
                    offset,
                    "signoff.granted",
                    step=step,
                    approvers=list(approvals),
                    fields=dict(merged),
                    escalated=bool(more.get("escalated")),
                )


@dataclass
class Expected:
    incident: audit.Incident
    metrics: dict[str, float | None]  # None: not recorded
    waits: dict[str, float]
    approvers: dict[str, list[str]]
    doctrine: dict[int, str]
    deviations: list[str]
    follow_ups: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    reminders: int = 0
    script: Script | None = None


def listening(
    script: Script,
    offset: float,
    *,
    alert_opened: float,
    first_mention: float,
    trigger: str,
    account: str,
    auto: bool = False,
    actor: str = "system:listen",
) -> None:
    """What runbook.listen leaves behind for an alert that started or joined the incident: the
    listen_alert row, mentions answering the trigger post, and listen.alert_linked in the trail."""
    from runbook.db import write_transaction
    from runbook.listen.tables import alerts, mentions

    at = lambda seconds: script.t0 + timedelta(seconds=seconds)  # noqa: E731
    alert_id = uuid.uuid4().hex
    row = {
        "id": alert_id,
        "brand": account.lower(),
        "status": "open",
        "reasons": ["volume", "negative"],
        "opened_at": at(alert_opened),
        "last_seen_at": at(alert_opened),
        "resolved_at": None,
        "window_start": at(alert_opened - H),
        "window_end": at(alert_opened),
        "volume": 340,
        "peak_volume": 340,
        "baseline_mean": 12.5,
        "baseline_std": 4.0,
        "threshold": 24.5,
        "negative": 250,
        "negative_share": 0.74,
        "baseline_negative_share": 0.2,
        "checks": 1,
        "details": {},
        "incident_id": script.incident.id,
    }

    def mention(n: int, seconds: float, in_reply_to: str | None) -> dict:
        return {
            "platform": "x",
            "ref": f"{alert_id[:6]}-m{n}",
            "account": account,
            "author": f"person{n}",
            "author_followers": 100 * n,
            "text": "what was that?",
            "language": "en",
            "sentiment": -0.6,
            "negative": 1,
            "epoch": int(at(seconds).timestamp()),
            "created_at": at(seconds),
            "in_reply_to": in_reply_to,
            "url": None,
            "kind": "reply" if in_reply_to else "mention",
            "engagement": 0,
            "source": "sandbox",
            "ingested_at": at(seconds),
            "meta": {},
        }

    # An older mention that does not answer the trigger post: it must not count as the first.
    rows = [mention(0, first_mention - 3 * H, None)] + [
        mention(i, first_mention + (i - 1) * 60, trigger) for i in range(1, 4)
    ]

    def work(connection) -> None:
        connection.execute(alerts.insert(), row)
        connection.execute(mentions.insert(), rows)

    write_transaction(script.engine, work)
    script.at(
        offset,
        "listen.alert_linked",
        actor=actor,
        alert=alert_id,
        brand=account.lower(),
        auto=auto,
        headline="340 mentions in 1h (baseline 12.5)",
        trigger={
            "ref": trigger,
            "platform": "x",
            "account": account,
            "answers": 120,
            "url": f"https://social.example/{account}/status/{trigger}",
        },
    )


def _script(
    engine,
    *,
    start: str,
    playbook: str,
    title: str,
    requester: str,
    inputs: dict,
    steps: list[str],
    severity: str | None = None,
    stop_after: float | None = None,
) -> Script:
    t0 = datetime.fromisoformat(start).astimezone(UTC)
    incident = audit.create_incident(
        engine,
        playbook_id=playbook,
        playbook_version=1,
        inputs=inputs,
        requester=requester,
        title=title,
        severity=severity,
        now=t0,
    )
    script = Script(engine, t0, incident, stop_after)
    script.at(
        0,
        "incident.started",
        actor=requester,
        channel="slack",
        playbook=playbook,
        version=1,
        inputs=inputs,
        title=title,
        steps=steps,
    )
    return script


def _schedule_reminders(script: Script, offset: float) -> None:
    """What the postmortem step kind does once the review is signed: one followup.scheduled per due date."""
    report = build_report(script.engine, script.incident.id)
    reminders.schedule(
        script.engine,
        incident_id=script.incident.id,
        follow_ups=report.follow_ups,
        step="review",
        existing=set(),
        now=script.t0 + timedelta(seconds=offset),
    )


def _close(script: Script, offset: float) -> None:
    if script.stop_after is None or offset <= script.stop_after:
        script.at(offset, "incident.completed", outcome="completed", reason="", step=None)
        audit.update_incident(script.engine, script.incident.id, status="completed")


US_STATEMENT = (
    "We apologise for an offensive image sent from our account in reply to a customer. It was our "
    "mistake; it has been removed and we are reviewing how replies are sent."
)


def us_airways(engine) -> Expected:
    """Offensive media in a reply. Automated freeze and thaw (the queue's kinds), manual statement,
    publish and replies (the shipped checklists), a spike alert, two refused decisions."""
    s = _script(
        engine,
        start="2014-04-14T16:32:00+00:00",
        playbook="social-media-mistake",
        requester="ana",
        title="Offensive image in a reply to a customer",
        inputs={
            "summary": "Our reply to a customer complaint contained an offensive image",
            "offending_post": "https://social.example/brand/status/1001",
        },
        steps=[
            "freeze",
            "assess",
            "delete-decision",
            "convene",
            "convene-management",
            "convene-hr",
            "statement",
            "publish",
            "replies",
            "thaw",
            "review",
        ],
    )
    listening(s, 1, alert_opened=-5 * M, first_mention=-11 * M - 30, trigger="1001", account="USAirways", actor="ana")
    s.at(
        2,
        "step.started",
        step="freeze",
        attempt=1,
        uses="freeze_posts",
        title="Stop every scheduled post",
        immediate=True,
    )
    s.at(
        2,
        "freeze.created",
        step="freeze",
        actor="ana",
        freeze="a1b2c3d4e5f6",
        scope=["all"],
        reason="",
        frozen=3,
        posts=["p1", "p2", "p3"],
        publishing=[],
        commit_ms=3.2,
    )
    s.at(
        2,
        "step.finished",
        step="freeze",
        attempt=1,
        immediate=True,
        outputs={"freeze_id": "a1b2c3d4e5f6", "frozen": 3, "posts": ["p1", "p2", "p3"]},
    )
    s.at(5, "flow.started", steps=["freeze", "assess"])
    s.gate(
        "assess",
        6,
        [
            (
                4 * M,
                "approve",
                "ana",
                "slack",
                {"choice": "high", "affected": "The customer and everyone who saw it", "involves_staff": False},
            )
        ],
    )
    s.step(4 * M, 4 * M, "assess", "decide", choice="high", involves_staff=False)
    s.gate(
        "delete-decision",
        4 * M + 1,
        [
            (
                6 * M,
                "refused",
                "sam",
                "slack",
                {},
                {"reason": "sam holds none of the roles comms_lead (not escalated)"},
            ),
            (
                9 * M,
                "approve",
                "bram",
                "slack",
                {"choice": "delete"},
                {"comment": "Delete: screenshots survive, own it"},
            ),
        ],
    )
    s.step(9 * M, 9 * M, "delete-decision", "decide", choice="delete")
    s.gate("convene", 9 * M + 1, [(10 * M, "approve", "ana", "cli", {"item_1": True})])
    s.step(10 * M, 10 * M, "convene", "checklist", complete=True)
    s.step(10 * M + 1, 10 * M + 2, "convene-management", "notify", text="Management and the board join")
    s.at(
        10 * M + 2, "step.skipped", step="convene-hr", reason="condition is false: steps.assess.outputs.involves_staff"
    )
    s.gate(
        "statement",
        10 * M + 3,
        [
            (
                12 * M,
                "refused",
                "ana",
                "slack",
                {},
                {"reason": "ana started this incident and may not sign this step (two-person rule)"},
            ),
            (25 * M, "approve", "lena", "slack", {"text": US_STATEMENT}),
            (31 * M, "approve", "bram", "ui", {}),
        ],
        quorum=2,
    )
    s.step(31 * M, 31 * M, "statement", "checklist", complete=True, done=["apology", "steps", "values"])
    s.gate("publish", 31 * M + 1, [(34 * M, "approve", "noor", "slack", {"item_1": True})])
    s.step(34 * M, 34 * M, "publish", "checklist", complete=True)
    s.gate("replies", 34 * M + 1, [(2 * H, "approve", "sam", "slack", {"item_1": True})])
    s.step(2 * H, 2 * H, "replies", "checklist", complete=True)
    s.at(2 * H + M, "step.started", step="thaw", attempt=1, uses="thaw_posts", title="Resume the queue")
    s.at(
        2 * H + M,
        "thaw.proposed",
        step="thaw",
        actor="ana",
        thaw="t1",
        freeze="a1b2c3d4e5f6",
        proposal={"p1": "release", "p2": "reschedule", "p3": "release"},
    )
    s.at(2 * H + M, "step.finished", step="thaw", attempt=1, outputs={"phase": "proposed"})
    s.gate("thaw", 2 * H + M, [(2 * H + 10 * M, "approve", "ana", "slack", {"actions": "p3=kill"})])
    for post, action in (("p1", "post.released"), ("p2", "post.rescheduled"), ("p3", "post.killed")):
        s.at(
            2 * H + 10 * M,
            action,
            step="thaw",
            actor="ana",
            channel="slack",
            post=post,
            thaw="t1",
            freeze="a1b2c3d4e5f6",
        )
    s.at(
        2 * H + 10 * M,
        "thaw.applied",
        step="thaw",
        actor="ana",
        channel="slack",
        thaw="t1",
        freeze="a1b2c3d4e5f6",
        outcomes={"released": 1, "rescheduled": 1, "killed": 1},
        still_frozen=[],
    )
    follow_ups = (
        "Second-person check on media in replies (owner: Bram, 2 weeks)\n"
        "Media library locked to approved images | Sam | 2014-05-01"
    )
    s.gate("review", 2 * H + 11 * M, [(2 * H + 40 * M, "approve", "ana", "slack", {"follow_ups": follow_ups})])
    s.at(2 * H + 40 * M, "step.started", step="review", attempt=1, uses="postmortem", title="Post-mortem")
    _schedule_reminders(s, 2 * H + 40 * M)
    s.at(2 * H + 41 * M, "step.finished", step="review", attempt=1, outputs={"verified": True})
    _close(s, 2 * H + 42 * M)
    return Expected(
        incident=s.incident,
        script=s,
        metrics={
            "duration": 2 * H + 42 * M,
            "time_to_detect": 11 * M + 30,
            "time_to_freeze": 2,
            "posts_frozen": 3,
            "posts_released": 1,
            "posts_rescheduled": 1,
            "posts_killed": 1,
            "time_to_first_statement": 34 * M,
            "statement_drafts": None,
            "statement_edits": 0,
            "signoffs": 8,
            "signoff_wait_median": (299 + 540) / 2,
            "signoff_wait_max": 5159,
            "refused_attempts": 2,
            "escalations": 0,
            "replies_to_answer": None,
            "replies_answered": None,
            "replies_skipped": None,
            "replies_failed": None,
            "reply_time_median": None,
            "reply_time_p90": None,
            "reply_coverage": None,
            "deviations": 0,
            "follow_ups": 2,
        },
        waits={
            "assess": 234,
            "delete-decision": 299,
            "convene": 59,
            "statement": 1257,
            "publish": 179,
            "replies": 5159,
            "thaw": 540,
            "review": 1740,
        },
        approvers={
            "assess": ["ana"],
            "delete-decision": ["bram"],
            "statement": ["lena", "bram"],
            "publish": ["noor"],
            "thaw": ["ana"],
            "review": ["ana"],
        },
        doctrine={1: "done", 2: "partial", 3: "done", 4: "done", 5: "partial", 6: "done"},
        deviations=[],
        follow_ups=[
            ("Second-person check on media in replies", "Bram", "2014-04-28"),
            ("Media library locked to approved images", "Sam", "2014-05-01"),
        ],
        reminders=2,
    )


def red_cross(engine) -> Expected:
    """A personal post on the brand account. The shipped playbook as it is today: every step manual, a
    deletion decision that times out and is escalated to the exec, no monitoring, a checklist review."""
    s = _script(
        engine,
        start="2011-02-15T23:40:00+00:00",
        playbook="wrong-account-post",
        requester="noor",
        title="Personal post on the brand account",
        inputs={"summary": "A personal post about beers went out on the brand account", "account": "@RedCross"},
        steps=["freeze", "delete-decision", "connected-accounts", "statement", "publish", "thaw", "review"],
    )
    s.at(3, "flow.started", steps=[])
    s.gate("freeze", 4, [(3 * M, "approve", "noor", "slack", {"item_1": True})])
    s.step(3 * M, 3 * M, "freeze", "checklist", complete=True)
    s.gate(
        "delete-decision",
        3 * M + 1,
        [
            (18 * M + 1, "timeout", "system", "flow", {}, {"to": ["eva", "bram"]}),
            (20 * M, "approve", "eva", "slack", {"choice": "delete"}, {"escalated": True}),
        ],
    )
    s.step(20 * M, 20 * M, "delete-decision", "decide", choice="delete")
    s.gate("connected-accounts", 20 * M + 1, [(35 * M, "approve", "sam", "slack", {"item_1": True, "item_2": True})])
    s.step(35 * M, 35 * M, "connected-accounts", "checklist", complete=True)
    s.gate(
        "statement",
        35 * M + 1,
        [
            (
                40 * M,
                "approve",
                "ana",
                "slack",
                {"text": "We've deleted the rogue post. Rest assured we're sober and we've confiscated the keys."},
            )
        ],
    )
    s.step(40 * M, 40 * M, "statement", "checklist", complete=True)
    s.gate("publish", 40 * M + 1, [(42 * M, "approve", "noor", "slack", {"item_1": True})])
    s.step(42 * M, 42 * M, "publish", "checklist", complete=True)
    s.gate("thaw", 42 * M + 1, [(H, "approve", "ana", "slack", {"item_1": True})])
    s.step(H, H, "thaw", "checklist", complete=True)
    s.gate(
        "review",
        H + 1,
        [
            (
                H + 30 * M,
                "approve",
                "ana",
                "slack",
                {"follow_ups": "Separate phones for brand accounts (owner: Sam, 1 week)"},
            )
        ],
    )
    s.step(H + 30 * M, H + 30 * M, "review", "checklist", complete=True)
    _close(s, H + 31 * M)
    return Expected(
        incident=s.incident,
        script=s,
        metrics={
            "duration": H + 31 * M,
            "time_to_detect": None,
            "time_to_freeze": 3 * M,
            "posts_frozen": None,
            "posts_released": None,
            "posts_rescheduled": None,
            "posts_killed": None,
            "time_to_first_statement": 42 * M,
            "statement_drafts": None,
            "statement_edits": 0,
            "signoffs": 7,
            "signoff_wait_median": 899,
            "signoff_wait_max": 1799,
            "refused_attempts": 0,
            "escalations": 1,
            "replies_to_answer": None,
            "replies_answered": None,
            "replies_skipped": None,
            "replies_failed": None,
            "reply_time_median": None,
            "reply_time_p90": None,
            "reply_coverage": None,
            "deviations": 1,
            "follow_ups": 1,
        },
        waits={
            "freeze": 176,
            "delete-decision": 1019,
            "connected-accounts": 899,
            "statement": 299,
            "publish": 119,
            "thaw": 1079,
            "review": 1799,
        },
        approvers={"freeze": ["noor"], "delete-decision": ["eva"], "statement": ["ana"]},
        doctrine={1: "partial", 2: "not_recorded", 3: "partial", 4: "done", 5: "not_recorded", 6: "partial"},
        deviations=["timeout"],
        follow_ups=[("Separate phones for brand accounts", "Sam", "2011-02-23")],
        reminders=0,
    )


DIGIORNO_DRAFT = "We are sorry. Our post used #WhyIStayed without reading what it was about."
DIGIORNO_EDIT = (
    "A million apologies. We did not read what #WhyIStayed was about before posting. It was wrong, "
    "and we are answering everyone who wrote to us."
)
DIGIORNO_FINAL = DIGIORNO_EDIT + " We are also changing how we check hashtags."


def digiorno(engine, *, stop_after: float | None = None) -> Expected:
    """A joke on #WhyIStayed. The kinds issues 5 and 6 will add (alert, drafted and checked statement,
    publish, individual replies) with the automated freeze and thaw; one reply failed, one skipped."""
    s = _script(
        engine,
        start="2014-09-08T20:15:00+00:00",
        playbook="hashtag-misuse",
        requester="sam",
        title="Pizza joke on #WhyIStayed",
        severity="critical",
        stop_after=stop_after,
        inputs={"summary": "We used #WhyIStayed for a pizza joke", "hashtag": "#WhyIStayed"},
        steps=["freeze", "delete-decision", "statement", "publish", "replies", "thaw", "review"],
    )
    # The alert opened at 20:10 and started the playbook itself; the joke was first answered at 19:58.
    listening(s, 0, alert_opened=-5 * M, first_mention=-17 * M, trigger="3003", account="DiGiorno", auto=True)
    s.at(1, "step.started", step="freeze", attempt=1, uses="freeze_posts", title="Stop", immediate=True)
    s.at(
        1,
        "freeze.created",
        step="freeze",
        actor="sam",
        freeze="0f0f0f0f0f0f",
        scope=["all"],
        frozen=5,
        posts=["d1", "d2", "d3", "d4", "d5"],
        publishing=[{"id": "d0", "account": "DiGiorno"}],
    )
    s.at(1, "step.finished", step="freeze", attempt=1, immediate=True, outputs={"frozen": 5})
    s.at(2, "flow.started", steps=[])
    s.gate("delete-decision", 3, [(2 * M, "approve", "bram", "slack", {"choice": "delete"})])
    s.step(2 * M, 2 * M, "delete-decision", "decide", choice="delete")
    s.at(2 * M + 1, "step.started", step="statement", attempt=1, uses="draft_statement", title="A plain apology")
    s.at(2 * M + 2, "statement.drafted", step="statement", version=1, text=DIGIORNO_DRAFT)
    s.at(2 * M + 3, "statement.checked", step="statement", blocking=[], warnings=["no_values"])
    s.at(2 * M + 3, "step.finished", step="statement", attempt=1, outputs={"text": DIGIORNO_DRAFT})
    s.at(2 * M + 4, "signoff.requested", step="statement", quorum=2, signers=["ana", "bram", "lena"], at="after")
    s.at(15 * M, "statement.edited", step="statement", actor="lena", channel="slack", text=DIGIORNO_EDIT)
    s.at(15 * M, "statement.checked", step="statement", blocking=[], warnings=[])
    s.at(
        16 * M,
        "signoff.approved",
        step="statement",
        actor="lena",
        channel="slack",
        fields={"text": DIGIORNO_EDIT},
        approvals=["lena"],
        quorum=2,
    )
    s.at(
        20 * M,
        "post.frozen",
        actor="sam",
        channel="cli",
        post="d6",
        freeze="0f0f0f0f0f0f",
        why="scheduled while the freeze is active",
    )
    s.at(
        30 * M,
        "signoff.approved",
        step="statement",
        actor="ana",
        channel="ui",
        fields={"text": DIGIORNO_FINAL},
        approvals=["lena", "ana"],
        quorum=2,
    )
    s.at(30 * M, "signoff.granted", step="statement", approvers=["lena", "ana"], fields={"text": DIGIORNO_FINAL})
    s.gate("publish", 30 * M + 1, [(32 * M, "approve", "bram", "slack", {})])
    s.at(32 * M, "step.started", step="publish", attempt=1, uses="publish", title="Publish the apology")
    s.at(
        33 * M,
        "statement.published",
        step="publish",
        platform="x",
        account="digiorno",
        ref="x:991",
        url="https://social.example/x/digiorno/991",
        statement_step="statement",
    )
    s.at(33 * M, "step.finished", step="publish", attempt=1, outputs={"refs": ["x:991"]})
    s.gate("replies", 33 * M + 1, [(33 * M + 31, "approve", "noor", "slack", {})])
    s.at(33 * M + 32, "step.started", step="replies", attempt=1, uses="reply_individually", title="Answer everyone")
    people = {"u1": 30 * M, "u2": 25 * M, "u3": 20 * M, "u4": 0, "u5": 5 * M, "u6": 10 * M}
    s.at(
        34 * M,
        "replies.planned",
        step="replies",
        people=[{"person": p, "mentioned_at": s.iso(t)} for p, t in people.items()],
    )
    for person, sent in (("u1", 40 * M), ("u2", 45 * M), ("u3", 50 * M), ("u4", 60 * M)):
        s.at(sent - 60, "reply.drafted", step="replies", person=person)
        s.at(sent, "reply.sent", step="replies", person=person, mentioned_at=s.iso(people[person]), ref=f"x:{person}")
    s.at(55 * M, "reply.skipped", step="replies", actor="noor", channel="slack", person="u5", reason="a bot")
    s.at(58 * M, "reply.failed", step="replies", person="u6", error="rate limited")
    s.at(58 * M, "step.attempt_failed", step="replies", attempt=1, retries=2, error="ChannelError: rate limited")
    s.at(61 * M, "step.finished", step="replies", attempt=2, outputs={"answered": 4, "to_answer": 6})
    s.at(62 * M, "step.started", step="thaw", attempt=1, uses="thaw_posts", title="Resume")
    s.at(62 * M, "thaw.proposed", step="thaw", actor="sam", thaw="t9", freeze="0f0f0f0f0f0f", proposal={})
    s.at(62 * M, "step.finished", step="thaw", attempt=1, outputs={"phase": "proposed"})
    s.gate("thaw", 62 * M, [(70 * M, "approve", "ana", "slack", {"actions": ""})])
    for post, action in (
        ("d1", "post.released"),
        ("d2", "post.released"),
        ("d3", "post.released"),
        ("d4", "post.rescheduled"),
        ("d6", "post.rescheduled"),
        ("d5", "post.killed"),
    ):
        s.at(70 * M, action, step="thaw", actor="ana", channel="slack", post=post, thaw="t9", freeze="0f0f0f0f0f0f")
    s.at(
        70 * M,
        "thaw.applied",
        step="thaw",
        actor="ana",
        channel="slack",
        thaw="t9",
        freeze="0f0f0f0f0f0f",
        outcomes={"released": 3, "rescheduled": 2, "killed": 1},
        still_frozen=[],
    )
    follow_ups = (
        "- Read every trending hashtag before use (owner: Noor, due: 2014-09-15)\n"
        "- Add #WhyIStayed to the reviewed list | Sam | 1 week\n"
        "- Train the team on sensitive topics"
    )
    s.gate("review", 71 * M, [(90 * M, "approve", "ana", "slack", {"follow_ups": follow_ups})])
    if stop_after is None:
        s.at(90 * M, "step.started", step="review", attempt=1, uses="postmortem", title="Post-mortem")
        _schedule_reminders(s, 90 * M)
        s.at(90 * M + 30, "step.finished", step="review", attempt=1, outputs={"verified": True})
    _close(s, 91 * M)
    return Expected(
        incident=s.incident,
        script=s,
        metrics={
            "duration": 91 * M,
            "time_to_detect": 17 * M,
            "time_to_freeze": 1,
            "posts_frozen": 6,
            "posts_released": 3,
            "posts_rescheduled": 2,
            "posts_killed": 1,
            "time_to_first_statement": 33 * M,
            "statement_drafts": 1,
            "statement_edits": 2,
            "signoffs": 6,
            "signoff_wait_median": (119 + 480) / 2,
            "signoff_wait_max": 1676,
            "refused_attempts": 0,
            "escalations": 0,
            "replies_to_answer": 6,
            "replies_answered": 4,
            "replies_skipped": 1,
            "replies_failed": 1,
            "reply_time_median": 1500,
            "reply_time_p90": 3600,
            "reply_coverage": 66.7,
            "deviations": 2,
            "follow_ups": 3,
        },
        waits={"delete-decision": 117, "statement": 1676, "publish": 119, "replies": 30, "thaw": 480, "review": 1140},
        approvers={
            "delete-decision": ["bram"],
            "statement": ["lena", "ana"],
            "publish": ["bram"],
            "replies": ["noor"],
            "thaw": ["ana"],
            "review": ["ana"],
        },
        doctrine={1: "partial", 2: "partial", 3: "done", 4: "done", 5: "partial", 6: "done"},
        deviations=["publishing_at_freeze", "retried"],
        follow_ups=[
            ("Read every trending hashtag before use", "Noor", "2014-09-15"),
            ("Add #WhyIStayed to the reviewed list", "Sam", "2014-09-15"),
            ("Train the team on sensitive topics", None, None),
        ],
        reminders=2,
    )


SCENARIOS = {"us-airways": us_airways, "red-cross": red_cross, "digiorno": digiorno}
