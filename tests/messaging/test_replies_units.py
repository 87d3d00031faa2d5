"""The parts of individual replies: who is on the list (one per person, no bots, not the brand),
what an approver's lines mean, the rate limiter's exactness, near-duplicate detection."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runbook.audit.models import as_utc
from runbook.messaging.audience import AudienceFilter, Heard, people_from
from runbook.messaging.concerns import concern_of, quote_of
from runbook.messaging.errors import ReviewError
from runbook.messaging.review import parse_actions
from runbook.messaging.sending import Limiter, RateLimit
from runbook.messaging.similarity import near_duplicates

T0 = as_utc(None) - timedelta(hours=2)


def heard(ref: str, author: str, text: str, minutes: int = 0, **kw) -> Heard:  # noqa: ANN003
    return Heard(
        ref=ref,
        platform=kw.pop("platform", "x"),
        account="DiGiorno",
        author=author,
        text=text,
        created_at=T0 + timedelta(minutes=minutes),
        **kw,
    )


def test_one_entry_per_person_without_bots_or_the_brand() -> None:
    found = people_from(
        [
            heard("m1", "Ana", "@DiGiorno how could you joke about #WhyIStayed?", 1),
            heard("m2", "ana", "@DiGiorno seriously, read a hashtag before you use it. Survivors deserve better.", 5),
            heard("m3", "DiGiorno", "@DiGiorno we are sorry", 6),
            heard("m4", "pizza_bot", "@DiGiorno deal of the day", 7),
            heard("m5", "bob", "@DiGiorno mijn kinderen lezen dit. Dit is echt schandalig.", 8),
            heard("m6", "ana", "@DiGiorno also on mastodon", 9, platform="mastodon"),
            heard("m7", "newsdesk", "Frozen pizza brand under fire", 10, meta={"bot": True}),
        ],
        AudienceFilter.build(own_accounts={"digiorno_uk"}),
    )
    assert [p.key for p in found] == ["x:ana", "x:bob", "mastodon:ana"]
    ana = found[0]
    assert [m.ref for m in ana.mentions] == ["m1", "m2"] and ana.primary.ref == "m2"  # the one that says most
    assert ana.concern == "affected" and ana.first_at == T0 + timedelta(minutes=1)
    assert found[1].language == "nl" and found[1].concern == "affected"


def test_filters_about_words_replies_and_exclusions() -> None:
    keep = AudienceFilter.build(own_accounts=set(), about=["#WhyIStayed"], in_reply_to="s1", exclude=["@carl"])
    found = people_from(
        [
            heard("m1", "ana", "@DiGiorno #WhyIStayed is not a joke"),
            heard("m2", "bob", "@DiGiorno love the new crust"),
            heard("m3", "cem", "@DiGiorno unbelievable", in_reply_to="s1"),
            heard("m4", "carl", "@DiGiorno WhyIStayed!"),
        ],
        keep,
    )
    assert [p.author for p in found] == ["ana", "cem"]


def test_concerns_and_quotes_come_from_their_own_words() -> None:
    assert concern_of("@USAirways was your account hacked? That reply can't be intentional.") == "explain"
    assert concern_of("Never flying @USAirways again after that reply.") == "leave"
    assert concern_of("@x what is your refund policy?") == "question"
    assert (
        quote_of("Disgusted by @DiGiorno making a pizza joke out of abuse. #WhyIStayed 😡")
        == "Disgusted by DiGiorno making a pizza joke out of abuse"
    )
    assert quote_of("@DiGiorno @bob #WhyIStayed is about domestic violence.") == "WhyIStayed is about domestic violence"


def test_review_lines() -> None:
    parsed = parse_actions("r1 approve\n\n# comment\nr2 skip\n@Ana hold\nr4: Thank you, Ana. We are sorry.\nr5 edit Hi")
    assert {k: (a.verb, a.text) for k, a in parsed.items()} == {
        "r1": ("approve", ""),
        "r2": ("skip", ""),
        "ana": ("hold", ""),
        "r4": ("edit", "Thank you, Ana. We are sorry."),
        "r5": ("edit", "Hi"),
    }
    with pytest.raises(
        ReviewError, match=r"line 1: unknown action 'delete'.*line 3: r1 already has an action on line 2"
    ):
        parse_actions("r1 delete\nr1 skip\nr1 approve")
    with pytest.raises(ReviewError, match="line 1: r1: the new text is empty"):
        parse_actions("r1:   ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_limiter_keeps_to_n_per_period_exactly_even_after_a_restart() -> None:
    clock = FakeClock()
    limit = RateLimit.parse("3/1s")
    assert (limit.count, limit.per) == (3, 1.0) and RateLimit.parse("300/15m").per == 900
    limiter = Limiter(limit, clock=clock, sleep=clock.sleep)
    done = []
    for _ in range(10):
        limiter.wait()
        clock.now += 0.01  # the send takes 10 ms
        limiter.done()
        done.append(clock.now)
    assert max(sum(1 for t in done if start <= t < start + 1.0) for start in done) == 3
    assert done[-1] - done[0] < 3.2  # and no slower than needed
    restarted = Limiter(limit, history=done[-3:], clock=clock, sleep=clock.sleep)  # seeded from the database
    restarted.wait()
    assert clock.now >= done[-3] + 1.0
    with pytest.raises(ValueError, match="not a rate"):
        RateLimit.parse("fast")


def test_near_duplicates_are_found_and_distinct_replies_are_not() -> None:
    same = "We are so sorry. You are right that the hashtag is about something serious and we should have checked."
    drafts = [
        (1, f"@ana {same}"),
        (2, f"@bob {same}"),
        (3, f"@cem {same.replace('checked', 'looked first')}"),
        (4, "@dan Thank you for telling us. We deleted the post and we will review how we choose hashtags."),
        (5, "@eve You asked how this happened: we used the hashtag without reading what it was about."),
    ]
    found = near_duplicates(drafts, threshold=0.8)
    assert set(found) == {1, 2, 3} and found[2].score == 1.0
    assert set(near_duplicates(drafts, threshold=0.8, only={3, 4})) == {3}
    reworded = [(1, f"@ana {same}"), (2, f"@bob {same.replace('so sorry', 'truly sorry')}")]
    assert near_duplicates(reworded, threshold=0.8) == {}  # one reworded phrase in a short reply: 0.7
    assert set(near_duplicates(reworded, threshold=0.65)) == {1, 2}
