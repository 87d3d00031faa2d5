"""Doctrine checks on real text: statements modelled on the three incidents pass; variants that
break one rule each are flagged by that rule's id (English and Dutch); readability is measured."""

from __future__ import annotations

import pytest

from runbook.messaging.doctrine import MessageChecker
from runbook.messaging.readability import measure, syllables
from tests.messaging.conftest import make_brand

DOCTRINE = "doctrine."

GOOD = {
    # US Airways, April 2014: an offensive image in a reply to a customer.
    "social-media-mistake": (
        "We are deeply sorry for the offensive image we sent in a reply to a customer today. It was our mistake. "
        "We removed the reply and we are reviewing how every reply is checked before it goes out. Our passengers "
        "deserve respect from us, and today we did not show it."
    ),
    # American Red Cross, February 2011: a staff member's personal tweet on the brand account.
    "wrong-account-post": (
        "We are sorry: a personal message went out from this account by mistake. That is on us. We have deleted "
        "it and signed personal accounts out of our work phones. Thank you to our donors for your kindness. "
        "Back to helping people in need."
    ),
    # DiGiorno, September 2014: a pizza joke on #WhyIStayed.
    "hashtag-misuse": (
        "We are deeply sorry. We used the WhyIStayed hashtag without first reading what it is about. People use "
        "it to share painful stories, and our post made light of them. That was our mistake. We have deleted the "
        "post, and we will answer each of you personally. You deserve respect."
    ),
}

GOOD_NL = {
    "social-media-mistake": (
        "Het spijt ons enorm. We hebben een klant een aanstootgevende afbeelding gestuurd. Dat was onze fout. We "
        "hebben de reactie verwijderd en we gaan na hoe elke reactie wordt gecontroleerd. Onze klanten verdienen "
        "respect."
    ),
    "hashtag-misuse": (
        "Het spijt ons. We gebruikten de hashtag WhyIStayed zonder te lezen waar die over gaat. Dat was onze fout. "
        "We hebben het bericht verwijderd en we gaan iedereen persoonlijk antwoorden. U verdient respect."
    ),
}

# Each variant breaks one rule: (rule id that must flag it, severity, text).
BAD_EN = [
    (
        "doctrine.apology.missing",
        "block",
        "Our reply to a customer today was not acceptable. It was our mistake. We removed it and we are reviewing "
        "how replies are checked. Our passengers deserve respect.",
    ),
    (
        "doctrine.apology.conditional",
        "block",
        "We are sorry if anyone was offended by our reply. We removed it and we are reviewing how replies are "
        "checked. Our passengers deserve respect.",
    ),
    (
        "doctrine.apology.conditional",
        "block",
        "Mistakes were made and we apologise. We removed the reply and we are reviewing how replies are checked. "
        "Our passengers deserve respect.",
    ),
    (
        "doctrine.apology.conditional",
        "block",
        "We apologise for any offence caused. We removed the reply and we are reviewing how replies are checked. "
        "Our passengers deserve respect.",
    ),
    (
        "doctrine.apology.excuse",
        "block",
        "We are sorry. The post was only meant as a joke. We removed it and we are reviewing how posts are checked. "
        "Our customers deserve respect.",
    ),
    (
        "doctrine.blame",
        "block",
        "We are sorry. A technical glitch sent an image from our library. We removed it and we are reviewing how "
        "replies are checked. Our passengers deserve respect.",
    ),
    (
        "doctrine.blame",
        "block",
        "We are sorry. An intern posted this from the wrong phone. We deleted it and we are reviewing how posts are "
        "checked. Our donors deserve respect.",
    ),
    (
        "doctrine.blame",
        "block",
        "We are sorry. Our agency chose the hashtag. We deleted the post and we are reviewing how hashtags are "
        "chosen. Our customers deserve respect.",
    ),
    (
        "doctrine.self_disqualification",
        "block",
        "We are sorry, we were so stupid. We deleted the post and we are reviewing how hashtags are chosen. Our "
        "customers deserve respect.",
    ),
    (
        "doctrine.self_disqualification",
        "block",
        "We are sorry. We didn't understand the hashtag. We deleted the post and we are reviewing how hashtags are "
        "chosen. Our customers deserve respect.",
    ),
    (
        "doctrine.steps.missing",
        "warn",
        "We are deeply sorry for the offensive image we sent to a customer. It was our mistake. Our passengers "
        "deserve respect from us.",
    ),
    (
        "doctrine.affected.missing",
        "warn",
        "We are sorry for the image we posted. It was our mistake. We removed it and we are reviewing how replies "
        "are checked. Respect matters to us.",
    ),
    (
        "doctrine.values.missing",
        "warn",
        "We are sorry for the image we sent to a customer. It was our mistake. We removed it and we are reviewing "
        "how replies are checked.",
    ),
    (
        "doctrine.readability",
        "warn",
        "We are sorry. Notwithstanding organisational considerations, our communication department's inappropriate "
        "reaction demonstrated insufficient institutional sensitivity. Consequently, we removed it and we are "
        "reviewing multidisciplinary verification procedures. Our passengers deserve respect.",
    ),
    (
        "doctrine.long_sentence",
        "warn",
        "We are sorry for the image we sent to a customer today, and we removed it at once and we are reviewing "
        "how every single reply from this account is checked before it goes out to anyone. Our passengers deserve "
        "respect.",
    ),
    (
        "doctrine.jargon",
        "warn",
        "We are sorry for the image we sent to a customer. We removed it and we are reviewing our process going "
        "forward. Our passengers deserve respect.",
    ),
    (
        "doctrine.tone.defensive",
        "warn",
        "We are sorry for the image we sent to a customer. We removed it and we are reviewing how replies are "
        "checked, whatever the haters say. Our passengers deserve respect.",
    ),
]

BAD_NL = [
    (
        "doctrine.apology.missing",
        "block",
        "Onze reactie was niet in orde. We hebben de reactie verwijderd en we gaan na hoe dit kon. Onze klanten "
        "verdienen respect.",
    ),
    (
        "doctrine.apology.conditional",
        "block",
        "Sorry als iemand zich gekwetst voelt. We hebben de reactie verwijderd. Onze klanten verdienen respect.",
    ),
    (
        "doctrine.apology.excuse",
        "block",
        "Het spijt ons. Het was maar een grapje. We hebben het bericht verwijderd. Onze klanten verdienen respect.",
    ),
    (
        "doctrine.blame",
        "block",
        "Het spijt ons. Een stagiair plaatste het bericht. We hebben het verwijderd. Onze klanten verdienen respect.",
    ),
    (
        "doctrine.blame",
        "block",
        "Het spijt ons. Door een technische storing ging het bericht uit. We hebben het verwijderd. Onze klanten "
        "verdienen respect.",
    ),
    (
        "doctrine.self_disqualification",
        "block",
        "Het spijt ons, we waren echt dom. We hebben het bericht verwijderd. Onze klanten verdienen respect.",
    ),
    (
        "doctrine.self_disqualification",
        "block",
        "Het spijt ons. We begrepen de hashtag niet. We hebben het bericht verwijderd. Onze klanten verdienen respect.",
    ),
    ("doctrine.steps.missing", "warn", "Het spijt ons enorm. Dat was onze fout. Onze klanten verdienen respect."),
]


@pytest.fixture
def checkers():
    made = {case: MessageChecker(make_brand(case), links=False) for case in GOOD}
    yield made
    for checker in made.values():
        checker.close()


def _doctrine(result) -> list[str]:
    return [f"{f.severity} {f.rule}" for f in result.findings if f.rule.startswith(DOCTRINE)]


@pytest.mark.parametrize("case", sorted(GOOD))
@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_statements_modelled_on_the_three_incidents_pass_every_check(checkers, case: str, platform: str) -> None:
    result = checkers[case].check(GOOD[case], platform=platform)
    assert not result.blocked, [str(f) for f in result.findings]
    assert _doctrine(result) == []
    assert len(GOOD[case]) <= 280 or platform != "x"


@pytest.mark.parametrize("case", sorted(GOOD_NL))
def test_dutch_statements_pass(checkers, case: str) -> None:
    result = checkers[case].check(GOOD_NL[case], language="nl", platform="facebook")
    assert not result.blocked and _doctrine(result) == [], [str(f) for f in result.findings]


@pytest.mark.parametrize(("rule", "severity", "text"), BAD_EN, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BAD_EN)])
def test_each_english_variant_is_flagged_by_the_intended_rule(checkers, rule: str, severity: str, text: str) -> None:
    result = checkers["social-media-mistake"].check(text, platform="facebook")
    assert f"{severity} {rule}" in _doctrine(result), _doctrine(result)
    # The variant breaks that rule and no other hard don't: the intended rule is what blocks it.
    assert {f.rule for f in result.blocks} == ({rule} if severity == "block" else set()), _doctrine(result)


@pytest.mark.parametrize(("rule", "severity", "text"), BAD_NL, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BAD_NL)])
def test_each_dutch_variant_is_flagged_by_the_intended_rule(checkers, rule: str, severity: str, text: str) -> None:
    result = checkers["hashtag-misuse"].check(text, language="nl", platform="facebook")
    assert f"{severity} {rule}" in _doctrine(result), _doctrine(result)
    assert {f.rule for f in result.blocks} == ({rule} if severity == "block" else set()), _doctrine(result)


def test_the_real_digiorno_apology_passes_the_hard_rules_but_warns(checkers) -> None:
    result = checkers["hashtag-misuse"].check(
        "A million apologies. Did not read what the hashtag was about before posting.", platform="x"
    )
    assert not result.blocked
    assert {"warn doctrine.steps.missing", "warn doctrine.affected.missing", "warn doctrine.values.missing"} <= set(
        _doctrine(result)
    )


def test_sensitive_topics_in_a_statement_warn_because_the_signoff_is_the_second_opinion(checkers) -> None:
    result = checkers["hashtag-misuse"].check(
        GOOD["hashtag-misuse"].replace("painful stories", "their stories of domestic violence"), platform="facebook"
    )
    violence = [f for f in result.findings if f.rule == "topic.violence"]
    assert violence and violence[0].severity == "warn" and "second opinion" in violence[0].message
    assert not result.blocked


def test_prepublish_blocks_still_block_a_statement(checkers) -> None:
    too_long = GOOD["hashtag-misuse"] + " " + GOOD["hashtag-misuse"]
    assert "platform.length" in {f.rule for f in checkers["hashtag-misuse"].check(too_long, platform="x").blocks}
    tagged = checkers["hashtag-misuse"].check(GOOD["hashtag-misuse"] + " #WhyIStayed", platform="facebook")
    assert "hashtag.unreviewed" in {f.rule for f in tagged.blocks}


def test_replies_need_no_steps_and_an_apology_only_warns() -> None:
    with MessageChecker(make_brand(), links=False) as checker:
        result = checker.check(
            "@ana Thank you for telling us. We have changed how we choose hashtags.", platform="x", target="reply"
        )
    assert not result.blocked and _doctrine(result) == ["warn doctrine.apology.missing"]


def test_flesch_reading_ease_and_the_douma_variant() -> None:
    assert syllables("apologise") == 4 and syllables("make") == 1 and syllables("geëerd", "nl") == 2
    easy = measure("We are sorry. We made a mistake. We fixed it.")
    assert easy.sentences == 3 and easy.words == 10 and easy.score > 90
    hard = measure(
        "Notwithstanding organisational considerations, institutional communication necessitates "
        "comprehensive reevaluation."
    )
    assert hard.score < 0
    dutch = measure("Het spijt ons. We hebben het bericht verwijderd.", "nl")
    # Flesch–Douma: 206.835 - 0.93 * words/sentence - 77 * syllables/word
    assert dutch.score == round(206.835 - 0.93 * dutch.words / dutch.sentences - 77 * dutch.syllables / dutch.words, 1)
