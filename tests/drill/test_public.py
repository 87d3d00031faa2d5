"""The simulated public on the shipped scenarios: deterministic for a seed, and reacting to what the
team does (tests on the simulated series), scored 0 for doing nothing and 100 for the textbook."""

from __future__ import annotations

import json

import pytest

from runbook.drill.actions import Action
from runbook.drill.baseline import baselines, rehearse
from runbook.drill.policy import find_policy, load_policy, play_offline
from runbook.drill.public import Judge, simulate
from runbook.drill.score import compute, moments

SCENARIOS = ["us-airways", "red-cross", "digiorno", "cloudbank-outage", "versmarkt-nl"]
GOOD_EN = (
    "We are deeply sorry for our post today. It was our mistake and we own it. We removed it, and we are "
    "reviewing how every post from this account is checked before it goes out. Everyone who saw it deserves "
    "respect from us, and we did not show it."
)
BLAME_EN = "We are sorry if anyone was offended. A glitch in our system caused this, and our agency sent it."


def negative(public, lo: int, hi: int) -> int:
    return sum(s["negative"] for s in public.series[lo:hi])


def share(public, lo: int, hi: int) -> float:
    total = sum(s["total"] for s in public.series[lo:hi])
    return negative(public, lo, hi) / total


@pytest.fixture(scope="module")
def judges():
    return {"en": Judge("en"), "nl": Judge("nl")}


@pytest.mark.parametrize("name", SCENARIOS)
def test_textbook_scores_at_least_90_do_nothing_at_most_10_and_bad_policies_clearly_lower(name, scenarios, judges):
    scenario = scenarios[name]
    judge = judges[scenario.language]
    score = {
        p: rehearse(scenario, load_policy(find_policy(p)), seed=11, judge=judge)[0]
        for p in ("do-nothing", "textbook", "blame-statement", "copy-paste")
    }
    assert score["textbook"].total >= 90, score["textbook"].to_json()["components"]
    assert score["do-nothing"].total <= 10
    assert score["blame-statement"].total <= score["textbook"].total - 15
    assert score["copy-paste"].total <= score["textbook"].total - 15
    # The blame statement is caught by the doctrine checks; the copy-paste replies by personalisation.
    parts = {p: {c.name: c for c in s.components} for p, s in score.items()}
    assert parts["blame-statement"]["doctrine"].points == 0
    assert "doctrine.blame" in parts["blame-statement"]["doctrine"].detail
    assert parts["copy-paste"]["replies"].fraction < 0.1 < 0.9 < parts["textbook"]["replies"].fraction


def test_same_seed_and_actions_give_the_same_mentions_and_score_byte_for_byte(scenarios, judges):
    scenario = scenarios["us-airways"]
    policy = load_policy(find_policy("textbook"))
    first, public1, actions1 = rehearse(scenario, policy, seed=5, judge=judges["en"])
    # A second, independent run (not the cached one) with a fresh checker.
    fresh = Judge("en")
    public2, actions2 = play_offline(scenario, policy, seed=5, judge=fresh)
    assert public2 is not public1 and actions1 == actions2
    assert [m.to_json() for m in public1.mentions] == [m.to_json() for m in public2.mentions]
    again = compute(
        scenario=scenario,
        actions=actions2,
        mentions=[m.to_json() for m in public2.mentions],
        baselines=baselines(scenario, seed=5, judge=fresh),
        judge=fresh,
    )
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(again.to_json(), sort_keys=True)
    # Replaying the recorded actions in one go gives the public the policy met minute by minute.
    replay = simulate(scenario, seed=5, actions=actions1, judge=judges["en"])
    assert [m.to_json() for m in replay.mentions] == [m.to_json() for m in public1.mentions]
    # Advancing in uneven slices (a live drill's polls) changes nothing either.
    from runbook.drill.public import Public

    sliced = Public(scenario=scenario, seed=5, judge=judges["en"])
    for until in (1, 7, 8, 50, 51, 200, scenario.minutes):
        sliced.advance(until, [a for a in actions1 if a.at < until])
    assert [m.to_json() for m in sliced.mentions] == [m.to_json() for m in public1.mentions]
    # Another seed is another public.
    other = simulate(scenario, seed=6, actions=actions1, judge=judges["en"])
    assert [m.to_json() for m in other.mentions] != [m.to_json() for m in public1.mentions]


def test_an_early_freeze_and_a_good_statement_make_the_storm_decay_faster(scenarios, judges):
    scenario = scenarios["us-airways"]
    nothing = simulate(scenario, seed=2, actions=[], judge=judges["en"])
    calmed = simulate(
        scenario,
        seed=2,
        actions=[Action(at=3, kind="freeze"), Action(at=30, kind="statement", text=GOOD_EN)],
        judge=judges["en"],
    )
    # Identical before the team acts: the same people, the same posts.
    assert nothing.mentions[:10] == calmed.mentions[:10] and negative(nothing, 0, 3) == negative(calmed, 0, 3)
    # Two hours after the statement far fewer negative posts, and a smaller negative share.
    assert negative(calmed, 90, 180) < 0.5 * negative(nothing, 90, 180)
    assert share(calmed, 60, 120) < share(nothing, 60, 120) - 0.15
    # A freeze alone helps a little; a statement on top of it helps much more.
    frozen = simulate(scenario, seed=2, actions=[Action(at=3, kind="freeze")], judge=judges["en"])
    assert negative(calmed, 30, 360) < negative(frozen, 30, 360) < negative(nothing, 30, 360)


def test_a_blaming_conditional_statement_flares_up(scenarios, judges):
    scenario = scenarios["us-airways"]
    base = [Action(at=3, kind="freeze")]
    good = simulate(
        scenario, seed=2, actions=[*base, Action(at=30, kind="statement", text=GOOD_EN)], judge=judges["en"]
    )
    bad = simulate(
        scenario, seed=2, actions=[*base, Action(at=30, kind="statement", text=BLAME_EN)], judge=judges["en"]
    )
    silent = simulate(scenario, seed=2, actions=base, judge=judges["en"])
    assert negative(bad, 30, 90) > 1.5 * negative(silent, 30, 90) > negative(good, 30, 90)
    assert any(r["kind"] == "statement" and not r["good"] and "doctrine.blame" in r["what"] for r in bad.reactions)


def test_silence_past_the_statement_deadline_flares_up(scenarios, judges):
    scenario = scenarios["us-airways"]
    deadline = int(scenario.deadlines.statement.total_seconds() // 60)
    on_time = simulate(
        scenario, seed=4, actions=[Action(at=deadline - 1, kind="statement", text=GOOD_EN)], judge=judges["en"]
    )
    late = simulate(
        scenario, seed=4, actions=[Action(at=deadline + 30, kind="statement", text=GOOD_EN)], judge=judges["en"]
    )
    assert any(r["kind"] == "silence" for r in late.reactions)
    assert not any(r["kind"] == "silence" for r in on_time.reactions)
    assert negative(late, deadline, deadline + 30) > 1.2 * negative(on_time, deadline, deadline + 30)


def test_a_post_during_the_freeze_flares_up_and_is_counted_as_slipped(scenarios, judges):
    scenario = scenarios["red-cross"]
    base = [Action(at=2, kind="freeze"), Action(at=20, kind="statement", text=GOOD_EN)]
    promo = Action(at=40, kind="post", text="Happy Friday! Give blood, get a cookie.")
    held = simulate(scenario, seed=1, actions=base, judge=judges["en"])
    slipped = simulate(scenario, seed=1, actions=[*base, promo], judge=judges["en"])
    assert negative(slipped, 40, 100) > 1.3 * negative(held, 40, 100)
    # The same post after the thaw is no breach.
    thawed = simulate(scenario, seed=1, actions=[*base, Action(at=39, kind="thaw"), promo], judge=judges["en"])
    assert negative(thawed, 40, 100) == negative(held, 40, 100)
    from runbook.drill.score import count_slipped

    assert count_slipped([*base, promo]) == 1 and count_slipped([*base, Action(at=39, kind="thaw"), promo]) == 0


def test_personal_replies_silence_people_copy_paste_and_wrong_quotes_make_them_repost(scenarios, judges):
    scenario = scenarios["digiorno"]
    out = {}
    for style in ("personal", "copy_paste", "wrong_quote"):
        policy = load_policy(find_policy("textbook"))
        policy = policy.model_copy(
            update={
                "replies": policy.replies.model_copy(
                    update={"style": style, "text": {"en": "Thank you for your feedback. We take this very seriously."}}
                )
            }
        )
        public, actions = play_offline(scenario, policy, seed=8, judge=judges["en"])
        answered = {a.to for a in actions if a.kind == "reply"}
        after = [m for m in public.mentions if m.author in answered and m.t > 120]
        out[style] = (public, sum(m.negative for m in after), answered)
    good_public, good_negative, _ = out["personal"]
    assert {p.answered for p in good_public.people if p.answered} == {"good"}
    assert any(m.kind == "thanks" for m in good_public.mentions)
    for bad in ("copy_paste", "wrong_quote"):
        public, bad_negative, _ = out[bad]
        assert bad_negative > 3 * good_negative
        assert any(m.kind in ("copy", "wrong") for m in public.mentions)
    assert "wrong" in {p.answered for p in out["wrong_quote"][0].people}


def test_people_ignored_for_hours_repost(scenarios, judges):
    public = simulate(scenarios["us-airways"], seed=3, actions=[], judge=judges["en"])
    reposts = [m for m in public.mentions if m.kind == "repost"]
    assert reposts and all(m.t >= 120 for m in reposts)
    assert all("Still no answer from @USAirways" in m.text for m in reposts)
    answered = simulate(scenarios["us-airways"], seed=3, actions=[], judge=judges["en"])
    assert [m.to_json() for m in answered.mentions] == [m.to_json() for m in public.mentions]


def test_injects_arrive_and_a_freeze_stops_the_staff_post(scenarios, judges):
    scenario = scenarios["us-airways"]
    nothing = simulate(scenario, seed=1, actions=[], judge=judges["en"])
    journalist = [m for m in nothing.mentions if m.author == "AviationDesk"]
    assert journalist and journalist[0].t == 40 and journalist[0].kind == "inject"
    assert any(m.author == "crewlife_jo" for m in nothing.mentions)
    assert any("publishes without a comment" in r["what"] for r in nothing.reactions)
    frozen = simulate(scenario, seed=1, actions=[Action(at=5, kind="freeze")], judge=judges["en"])
    assert not any(m.author == "crewlife_jo" for m in frozen.mentions)
    answered = simulate(
        scenario,
        seed=1,
        actions=[Action(at=50, kind="reply", to="AviationDesk", text="Statement soon.")],
        judge=judges["en"],
    )
    assert not any("publishes without a comment" in r["what"] for r in answered.reactions)


def test_moments_say_what_moved_the_negative_share(scenarios, judges):
    scenario = scenarios["us-airways"]
    score, public, actions = rehearse(scenario, load_policy(find_policy("textbook")), seed=1, judge=judges["en"])
    found = moments(scenario=scenario, actions=actions, mentions=[m.to_json() for m in public.mentions])
    statement = next(m for m in found if m["what"] == "statement")
    assert statement["text"].startswith("statement at T+25 min: negative share fell from ")
    assert statement["after"] < statement["before"]
    assert [m["what"] for m in found][:2] == ["freeze", "statement"]


def test_a_statement_published_across_a_minute_boundary_is_one_moment_and_a_later_one_another(scenarios):
    """At --speed 60 a real second is a simulated minute: three platforms may land in two minutes."""
    scenario = scenarios["us-airways"]
    posted = [Action(at=t, kind="statement", text="We are sorry.", ref=f"s{t}") for t in (25, 25, 26)]
    later = Action(at=70, kind="statement", text="What we changed.", ref="s70")
    found = [m for m in moments(scenario=scenario, actions=[*posted, later], mentions=[]) if m["what"] == "statement"]
    assert [m["t"] for m in found] == [25, 70]


def test_the_drill_report_section_is_byte_for_byte_the_same_for_the_same_seed_and_actions(scenarios):
    from runbook.drill.report import drill_section_html, drill_section_md
    from runbook.drill.result import DrillResult

    scenario = scenarios["versmarkt-nl"]
    policy = load_policy(find_policy("copy-paste"))

    def report(judge):
        public, actions = play_offline(scenario, policy, seed=9, judge=judge)
        mentions = [m.to_json() for m in public.mentions]
        score = compute(
            scenario=scenario,
            actions=actions,
            mentions=mentions,
            baselines=baselines(scenario, seed=9, judge=judge),
            judge=judge,
        )
        result = DrillResult(
            incident=None,
            scenario=scenario,
            seed=9,
            speed=60,
            policy=policy.name,
            actions=actions,
            mentions=mentions,
            score=score,
            moments=moments(scenario=scenario, actions=actions, mentions=mentions),
            verified=True,
            replay_identical=True,
        )
        return drill_section_md(result), str(drill_section_html(result))

    first, second = report(Judge("nl")), report(Judge("nl"))
    assert first == second
    md, html = first
    assert "| replies |" in md and "near-duplicates" in md and "<svg" in html
