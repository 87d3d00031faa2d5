"""reply_individually on a service failure (a hand-written airline week, tests/listen/samples):
only people with a complaint are answered (counts at the sign-off), people are grouped by the
window's concerns, a template per concern topic, the complaint sentence quoted (not the first),
one reply covering several concerns, boilerplate flagged although each draft echoes other words,
and a whole concern group edited with one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook.audit.models import as_utc
from runbook.listen.model import NewMention
from runbook.listen.store import store_mentions
from runbook.messaging.replies import brand_words, flag_near_duplicates
from runbook.sandbox import SandboxChannel
from runbook.steps.reply_individually import KIND as REPLY
from tests.messaging.conftest import step_context


@pytest.fixture
def brand():  # noqa: ANN201 - SkyLark, the airline of the samples
    from runbook.checks import Policy
    from runbook.messaging.brand import brand_from_policy

    return brand_from_policy(
        Policy(
            accounts={"SkyLark": {"kind": "brand", "platforms": ["x", "facebook"]}},
            link_checks=False,
            brand={
                "name": "SkyLark",
                "values": [{"name": "care"}],
                "audience": ["passengers"],
                "handles": {"x": "SkyLark", "facebook": "SkyLark"},
            },
        )
    )


SAMPLES = Path(__file__).parents[1] / "listen" / "samples"
T0 = as_utc(None) - timedelta(hours=6)
TWO_CONCERNS = [
    "@SkyLark you lost my bag on the way out and nobody at the baggage desk knows where it is",
    "@SkyLark and now my flight home is cancelled too, with no rebooking offered",
]
FIRST_IS_THANKS = "@SkyLark I flew with you to Denver on Monday. You lost my luggage again and nobody calls back."


def load_week(engine) -> dict[str, list[str]]:  # noqa: ANN001
    rows = [
        line.rstrip("\n").split("\t")
        for line in (SAMPLES / "airline_en.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    items, kinds = [], {}
    for i, (reason, text) in enumerate(rows):
        author = f"{'fan' if reason in ('positive', 'neutral') else 'cust'}{i}"
        kinds.setdefault(reason, []).append(author)
        items.append(
            NewMention(
                platform="x",
                ref=f"m{i}",
                account="SkyLark",
                author=author,
                text=text,
                created_at=T0 + timedelta(minutes=2 * i),
                author_followers=100 + i,
            )
        )
    for j, text in enumerate(TWO_CONCERNS):
        items.append(
            NewMention(
                platform="x",
                ref=f"mia{j}",
                account="SkyLark",
                author="mia",
                text=text,
                created_at=T0 + timedelta(minutes=3 + 100 * j),
            )
        )
    items.append(
        NewMention(
            platform="x",
            ref="kai",
            account="SkyLark",
            author="kai",
            text=FIRST_IS_THANKS,
            created_at=T0 + timedelta(minutes=7),
        )
    )
    store_mentions(engine, items, source="test")
    return kinds


def params(**extra):  # noqa: ANN003, ANN201
    base = {
        "template": "replies/service-failure.en.j2",
        "template_nl": "replies/service-failure.nl.j2",
        "templates": {
            "delay": "replies/service-failure-delay.en.j2",
            "cancellation": "replies/service-failure-cancellation.en.j2",
            "baggage": "replies/service-failure-baggage.en.j2",
            "service": "replies/service-failure-service.en.j2",
            "staff": "replies/service-failure-service.en.j2",
        },
        "accounts": ["SkyLark"],
        "since": T0 - timedelta(minutes=1),
        "until": T0 + timedelta(hours=5),
        "rate_limit": "1000/1s",
        "batch_size": 500,
    }
    return REPLY.params.model_validate(base | extra)


def test_complaints_only_grouped_by_concern_each_answered_on_their_own_complaint(
    engine,
    incident,
    brand,  # noqa: ANN001
    checker,
) -> None:
    kinds = load_week(engine)
    fans = set(kinds["positive"]) | set(kinds["neutral"])
    out = REPLY.run(
        step_context(engine, incident, "replies", brand=brand, checker=checker, channel=SandboxChannel(engine)),
        params(),
    )
    handles = {i["handle"] for i in out.items}
    assert handles and not handles & fans  # nobody who only praised or asked gets a reply
    assert out.filtered["skipped"] >= len(fans) and out.filtered["rule"] == "complaints"
    assert f"{out.filtered['skipped']} wrote only positive or neutral mentions and get no reply" in out.review

    # Every reply sits in its author's concern group; the groups are the window's concerns.
    members = {g["id"]: set(g["people"]) for g in out.groups}
    assert all(i["handle"] in members[i["group"]] for i in out.items)
    assert len([g for g in out.groups if g["id"] != "other"]) >= 4
    topics = {g["topic"] for g in out.groups}
    assert {"delay", "cancellation", "baggage", "service"} <= topics
    assert "== c1: " in out.review

    by_handle = {i["handle"]: i for i in out.items}
    assert not [i for i in out.items if i["blocked"]], [(i["blocked"], i["draft"]) for i in out.items if i["blocked"]]
    # A template per concern: one person about a lost bag gets the baggage reply.
    bag_people = [i for i in out.items if i["topic"] == "baggage" and len(i["groups"]) == 1]
    assert bag_people and all(
        any(w in i["draft"] for w in ("trace", "file reference", "reference from the baggage")) for i in bag_people
    )
    # The complaint sentence, not the opening one.
    assert "You lost my luggage again and nobody calls back" in by_handle["kai"]["draft"]
    assert "I flew with you to Denver" not in by_handle["kai"]["draft"]
    # Two concerns, one reply that covers both.
    mia = by_handle["mia"]
    assert len(mia["groups"]) == 2 and sum(1 for i in out.items if i["handle"] == "mia") == 1
    assert "bag" in mia["draft"] and ("rebook" in mia["draft"] or "cancel" in mia["draft"])

    # Boilerplate: drafts that differ only by the words they quote are flagged as near-duplicates.
    flagged = [i for i in out.items if i["near_duplicate"]]
    assert flagged
    pairs = [(i, by_id) for i in flagged for by_id in out.items if by_id["id"] == i["near_duplicate"]["of"]]
    assert any(a["draft"] != b["draft"] for a, b in pairs)


def test_one_line_rewrites_a_whole_concern_group(engine, incident, brand, checker) -> None:  # noqa: ANN001
    load_week(engine)
    first = REPLY.run(
        step_context(engine, incident, "replies", brand=brand, checker=checker, channel=SandboxChannel(engine)),
        params(),
    )
    group = first.groups[0]
    line = f"{group['id']}: {{handle}} We are sorry. You wrote {{quote}}: DM us and one person will sort it today."
    second = REPLY.run(
        step_context(
            engine,
            incident,
            "replies",
            steps={"replies": {"outputs": first.model_dump()}},
            brand=brand,
            checker=checker,
            channel=SandboxChannel(engine),
            decision={"actions": line, "approve_flagged": False, "person": "sam"},
        ),
        params(),
    )
    sent = {p["in_reply_to"]: p["text"] for p in SandboxChannel(engine).posts() if p["in_reply_to"]}
    in_group = [i for i in first.items if i["group"] == group["id"]]
    assert not second.error, second.error
    assert in_group and second.sent >= len(in_group)
    for item in in_group:
        text = next(t for t in sent.values() if t.startswith(f"@{item['handle']} We are sorry. You wrote"))
        assert "one person will sort it today" in text


def test_the_brand_s_own_words_are_compared_not_the_echoes() -> None:
    rows = [
        SimpleNamespace(
            id=i,
            author=f"p{i}",
            said=said,
            status="drafted",
            draft=None,
            text=f'@p{i} We hear you: "{said}". We are sorry, DM us and we will fix it.',
        )
        for i, said in enumerate(
            ["my bag is lost since Monday", "the flight was cancelled twice", "nobody answers the phone at all"]
        )
    ]
    assert brand_words(rows[0].text, rows[0]) == "We hear you: . We are sorry, DM us and we will fix it."
    assert set(flag_near_duplicates(rows, threshold=0.8)) == {0, 1, 2}


def test_needs_answer_also_answers_questions(engine, incident, brand, checker) -> None:  # noqa: ANN001
    kinds = load_week(engine)
    out = REPLY.run(
        step_context(engine, incident, "replies", brand=brand, checker=checker, channel=SandboxChannel(engine)),
        params(answer="needs_answer"),
    )
    handles = {i["handle"] for i in out.items}
    asked = set(kinds["neutral"]) & handles  # "what time does boarding start for SL 500?"
    assert asked and not set(kinds["positive"]) & handles
    assert out.filtered["rule"] == "needs_answer" and out.filtered["kept"] == len(handles)
