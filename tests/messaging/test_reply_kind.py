"""reply_individually over a real database, the listening store and the sandbox network: review
batches with approve / edit / skip / hold per reply, a blocked edit held back, flagged
near-duplicates held until a person approves them, failures tracked and retried, reruns inert."""

from __future__ import annotations

from typing import Any

from runbook import audit
from runbook.ports.channel import ChannelError
from runbook.sandbox import SandboxChannel
from runbook.steps.reply_individually import KIND as REPLY
from tests.messaging.conftest import actions, load_digiorno, replies_by_person, reply_params, step_context


def _call(engine, incident, brand, checker, *, shown=None, decision=None, channel=None, **params):  # noqa: ANN001, ANN003, ANN202
    steps = {"replies": {"outputs": shown.model_dump()}} if shown is not None else {}
    ctx = step_context(
        engine,
        incident,
        "replies",
        steps=steps,
        decision=decision,
        brand=brand,
        checker=checker,
        channel=channel or SandboxChannel(engine),
    )
    return REPLY.run(ctx, reply_params(**params))


def test_batches_are_reviewed_reply_by_reply_until_everyone_is_answered(engine, incident, brand, checker) -> None:  # noqa: ANN001
    load_digiorno(engine, 120)
    first = _call(engine, incident, brand, checker, batch_size=40)
    assert first.phase == "review" and first.awaiting_review and first.batch == 1 and len(first.items) == 40
    assert first.people > 40 and first.coverage["drafted"] == first.people and first.near_duplicates > 0
    assert SandboxChannel(engine).posts()[1:] == []  # nothing sent before a person approved it
    planned = [
        p for e in audit.events(engine, incident.id) if e.action == "replies.planned" for p in e.details["people"]
    ]
    assert len(planned) == first.people and all(p["mentioned_at"] for p in planned)
    clean = [i for i in first.items if not i["near_duplicate"] and not i["blocked"]]
    flagged = [i for i in first.items if i["near_duplicate"]]
    edited, skipped, held, blamed = clean[0], clean[1], clean[2], flagged[0]
    lines = "\n".join(
        [
            f"{edited['id']}: @{edited['handle']} You are right, and we are sorry. We deleted the post.",
            f"{skipped['id']} skip",
            f"@{held['handle']} hold",
            f"{blamed['id']}: @{blamed['handle']} Sorry, an intern picked the hashtag.",
        ]
    )
    second = _call(
        engine,
        incident,
        brand,
        checker,
        shown=first,
        batch_size=40,
        decision={"actions": lines, "approve_flagged": False, "person": "sam"},
    )
    sent_now = len(clean) - 2  # every clean reply but the skipped and the held one (the edit included)
    assert second.sent == sent_now and second.coverage["sent"] == sent_now and second.coverage["skipped"] == 1
    assert second.batch == 2
    again = {i["id"]: i for i in second.items}
    assert blamed["id"] in again and again[blamed["id"]]["blocked"] == ["doctrine.blame"]  # held back, not sent
    assert held["id"] in again and all(f["id"] in again for f in flagged)
    posts = {p["in_reply_to"]: p["text"] for p in SandboxChannel(engine).posts() if p["in_reply_to"]}
    assert "You are right, and we are sorry" in " ".join(posts.values())
    assert "intern" not in " ".join(posts.values())
    # The engine re-runs a call after a crash with the same decision: nothing changes.
    rerun = _call(
        engine,
        incident,
        brand,
        checker,
        shown=first,
        batch_size=40,
        decision={"actions": lines, "approve_flagged": False, "person": "sam"},
    )
    assert rerun.coverage == second.coverage and rerun.batch == 2 and rerun.sent == 0
    out = second
    fix = f"{blamed['id']}: @{blamed['handle']} We are sorry. We picked that hashtag without reading it."
    while out.awaiting_review:
        out = _call(
            engine,
            incident,
            brand,
            checker,
            shown=out,
            batch_size=40,
            decision={
                "actions": fix if any(i["id"] == blamed["id"] for i in out.items) else "",
                "approve_flagged": True,
                "person": "noor",
            },
        )
    assert out.phase == "done" and out.coverage["sent"] == out.people - 1 and out.coverage_percent < 100
    assert out.table == [{"status": s, "people": n} for s, n in out.coverage.items()]
    counts = replies_by_person(engine)
    assert set(counts.values()) == {1} and len(counts) == out.people - 1
    assert skipped["handle"].casefold() not in counts
    trail = actions(engine, incident, "replies")
    assert trail.count("reply.sent") == out.people - 1 and trail.count("reply.skipped") == 1
    assert trail.count("replies.reviewed") >= -(-first.people // 40)  # every batch reviewed once


class FlakyChannel:
    """The sandbox, but the first reply to `victim` fails like a network outage."""

    def __init__(self, inner: Any, victim: str) -> None:
        self.inner, self.victim, self.failed = inner, victim, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def reply(self, **kwargs: Any) -> Any:
        if self.victim in kwargs["text"] and not self.failed:
            self.failed += 1
            raise ChannelError("503 from the network")
        return self.inner.reply(**kwargs)


def test_a_failed_send_is_tracked_and_retried(engine, incident, brand, checker) -> None:  # noqa: ANN001
    load_digiorno(engine, 30)
    first = _call(engine, incident, brand, checker)
    victim = first.items[0]["handle"]
    flaky = FlakyChannel(SandboxChannel(engine), f"@{victim} ")
    out = _call(
        engine,
        incident,
        brand,
        checker,
        shown=first,
        channel=flaky,
        decision={"actions": "", "approve_flagged": True, "person": "sam"},
    )
    assert out.coverage["failed"] == 1 and out.phase == "done"
    failed = [e for e in audit.events(engine, incident.id) if e.action == "reply.failed"]
    assert failed[0].details["error"] == "ChannelError: 503 from the network" and failed[0].details["attempts"] == 1
    retried = _call(engine, incident, brand, checker, shown=out, channel=flaky)
    assert retried.coverage["failed"] == 0 and retried.coverage["sent"] == retried.people
    assert set(replies_by_person(engine).values()) == {1}
