"""One test per rule family on real text, the three doctrine incidents blocked by the right rule,
links against a real local server, media by content hash, and rule pack validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.checks import Checker, Draft, PackError, Policy, PolicyError, load_policy, media_refs, parse_pack
from runbook.checks.policy import AccountPolicy
from runbook.sandbox.scenarios import SCENARIOS


def check(
    text: str,
    *,
    platform: str = "x",
    account: str = "brand",
    language: str = "en",
    media=(),  # noqa: ANN001
    author: str | None = None,
    policy: Policy | None = None,
    context: str = "publish",
):
    checker = Checker(policy or Policy(), links=False)
    return checker.check(
        Draft(account=account, platform=platform, text=text, media=tuple(media), author=author, language=language),
        context=context,
    )


def blocks(result) -> set[str]:  # noqa: ANN001
    return result.rules("block")


# -- the three doctrine incidents --------------------------------------------------------------
def test_us_airways_image_is_held_by_the_media_library_rule(tmp_path: Path) -> None:
    image = tmp_path / "reply-image.jpg"
    image.write_bytes(b"\xff\xd8\xff an image taken from elsewhere")
    library = tmp_path / "assets"
    library.mkdir()
    (library / "logo.png").write_bytes(b"\x89PNG the brand's logo")
    policy = Policy(asset_library=library, reviewed_hashtags=[])
    text = SCENARIOS["us-airways"].offending_text
    result = check(text, media=media_refs([str(image)]), policy=policy)
    assert "media.unreviewed" in blocks(result)
    # The same reply with a reviewed image passes the media rule.
    assert "media.unreviewed" not in blocks(check(text, media=media_refs([str(library / "logo.png")]), policy=policy))


def test_red_cross_beer_tweet_is_held_as_personal_content() -> None:
    text = SCENARIOS["red-cross"].offending_text
    policy = Policy(reviewed_hashtags=["gettngslizzerd"])  # even with the tag waved through
    assert blocks(check(text, policy=policy)) == {"personal.drinking"}
    # On the person's own account the same words are not a brand problem.
    personal = Policy(accounts={"ryan": AccountPolicy(kind="personal")}, reviewed_hashtags=["gettngslizzerd"])
    assert blocks(check(text, account="ryan", policy=personal)) == set()


def test_digiorno_joke_is_held_by_the_trending_hashtag_rule() -> None:
    text = SCENARIOS["digiorno"].offending_text
    result = check(text)
    assert blocks(result) == {"hashtag.unreviewed"}
    assert "#WhyIStayed" in result.blocks[0].message
    assert blocks(check(text, policy=Policy(reviewed_hashtags=["#whyistayed"]))) == set()


# -- one family at a time ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language", "rule"),
    [
        ("Our thoughts and prayers are with everyone in church today", "en", "topic.religion"),
        ("Don't forget to vote in the election on Tuesday!", "en", "topic.politics"),
        ("Sad to hear about the shooting downtown, stay safe", "en", "topic.violence"),
        ("Our hearts go out to the earthquake victims", "en", "topic.tragedy"),
        ("Vergeet niet te stemmen: de verkiezingen zijn morgen", "nl", "topic.politics"),
        ("Wij staan stil bij de slachtoffers van de ramp", "nl", "topic.tragedy"),
        ("Stop huiselijk geweld", "nl", "topic.violence"),
        ("Fijne ramadan aan iedereen die meedoet", "nl", "topic.religion"),
    ],
)
def test_sensitive_topics(text: str, language: str, rule: str) -> None:
    assert rule in blocks(check(text, language=language))


@pytest.mark.parametrize(
    "text",
    [
        "Our Christmas sale starts today",
        "Follow @prayerapp for updates",
        "A killer deal on winter boots",
        "Votes are in: the blue sneaker wins",
    ],
)
def test_sensitive_topics_leave_ordinary_marketing_alone(text: str) -> None:
    assert not {r for r in blocks(check(text, policy=Policy(reviewed_hashtags=[]))) if r.startswith("topic.")} - (
        {"topic.politics"} if "Votes" in text else set()
    )


def test_personal_content_party_and_selfie_in_both_languages() -> None:
    assert "personal.party_selfie" in blocks(check("Selfie from the office party tonight!"))
    assert "personal.party_selfie" in blocks(check("Mijn vriendin en ik gaan stappen vanavond", language="nl"))
    assert "personal.drinking" in blocks(check("Wij drinken vanavond een biertje op de goede afloop", language="nl"))
    assert blocks(check("Our new beer glasses are back in stock")) == set()


def test_account_policy_author_and_platform() -> None:
    policy = Policy(accounts={"brand": AccountPolicy(platforms=["x", "instagram"], authors=["sam", "noor"])})
    assert blocks(check("Hello", author="sam", policy=policy)) == set()
    result = check("Hello", author="jay", policy=policy)
    assert blocks(result) == {"account.not_allowed"} and "jay may not post on brand" in result.blocks[0].message
    assert "not used on linkedin" in check("Hello", author="sam", platform="linkedin", policy=policy).blocks[0].message
    assert "not one of the brand's accounts" in check("Hi", account="ryan_personal", policy=policy).blocks[0].message


def test_malformed_tags_and_mentions() -> None:
    result = check(
        "Thanks @ everyone and @@brand, see #summer-sale and # and #2024 via @this_handle_is_too_long",
        policy=Policy(reviewed_hashtags=["summer", "2024"]),
    )
    found = {(f.rule, f.match) for f in result.warnings}
    assert ("mention.malformed", "@") in found and ("mention.malformed", "@@brand") in found
    assert ("mention.malformed", "@this_handle_is_too_long") in found
    assert ("hashtag.malformed", "#summer-sale") in found and ("hashtag.malformed", "#") in found
    assert ("hashtag.malformed", "#2024") in found
    assert not check("Mail us at care@brand.example or ping @brand_help", policy=Policy()).warnings


def test_platform_length_and_media_limits(tmp_path: Path) -> None:
    assert "platform.length" in blocks(check("a" * 281))
    assert "platform.length" not in blocks(check("a" * 250 + " https://example.com/" + "x" * 200))  # links count 23
    assert "platform.length" in blocks(check("é" * 301, platform="bluesky"))
    assert "platform.length" not in blocks(check("e\u0301" * 300, platform="bluesky"))  # 300 graphemes
    assert "platform.length" not in blocks(
        check("a" * 2200, platform="instagram", media=media_refs([{"name": "a.jpg", "sha256": "0" * 64}]))
    )
    assert "platform.media" in blocks(check("No picture", platform="instagram"))
    five = media_refs([{"name": f"{n}.jpg", "sha256": f"{n}" * 64} for n in range(1, 6)])
    assert "platform.media" in blocks(
        check("Five pictures", media=five, policy=Policy(asset_hashes=[f"{n}" * 64 for n in range(1, 6)]))
    )


def test_spelling_in_english_and_dutch() -> None:
    result = check("Our new colection arrives tomorow")
    assert [f.match for f in result.findings if f.rule == "spelling"] == ["colection", "tomorow"]
    assert all(f.severity == "warn" for f in result.findings)
    dutch = check("Onze nieuwe colectie is morgen in de winkel", language="nl")
    assert [f.match for f in dutch.findings if f.rule == "spelling"] == ["colectie"]


def test_cheerful_posts_are_flagged_only_during_a_thaw() -> None:
    text = "Flash sale! 50% off everything today 🎉"
    assert not [f for f in check(text).findings if f.family == "crisis_tone"]
    assert {f.match for f in check(text, context="thaw").findings if f.family == "crisis_tone"} >= {"sale", "🎉"}


# -- links against a local server ---------------------------------------------------------------
def test_links(site: str) -> None:
    checker = Checker(Policy(link_timeout=0.5), links=True)
    try:

        def findings(path: str) -> list[tuple[str, str]]:
            result = checker.check(Draft(account="brand", platform="x", text=f"See {site}{path}."))
            return [(f.rule, f.message) for f in result.findings if f.family == "links"]

        assert findings("/ok") == [] and findings("/moved-here") == [] and findings("/nohead") == []
        [(rule, message)] = findings("/missing")
        assert rule == "link.broken" and "HTTP 404" in message
        [(rule, message)] = findings("/elsewhere")
        assert rule == "link.redirect" and "another site (localhost)" in message
        [(rule, message)] = findings("/discontinued")
        assert rule == "link.redirect" and "home page" in message
        [(rule, message)] = findings("/slow")
        assert rule == "link.broken" and "no answer within 0.5 s" in message
        [(rule, message)] = findings("/loop")
        assert rule == "link.broken" and "more than 5 redirects" in message
        dead = checker.check(Draft(account="brand", platform="x", text="http://127.0.0.1:9/"))
        assert [f.rule for f in dead.findings] == ["link.broken"]
    finally:
        checker.close()
    offline = check(f"See {site}/missing")
    assert offline.findings == [] and "link checks skipped" in offline.notes[0]


# -- packs and policy --------------------------------------------------------------------------
def test_pack_errors_name_file_line_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "xx.yaml"
    text = """language: xx
rules:
  - id: ok.rule
    family: topic
    severity: block
    message: fine
    words: [a]
  - id: ok.rule
    family: topic
    severity: block
    message: duplicate
    words: [b]
  - id: bad.regex
    family: topic
    severity: warn
    message: broken
    patterns: ["(unclosed"]
  - id: two.matchers
    family: topic
    severity: maybe
    message: m
    words: [c]
    check: spelling
  - id: no.such
    family: topic
    severity: warn
    message: m
    check: horoscope
  - id: empty.words
    family: topic
    severity: warn
    message: m
    words: []
"""
    with pytest.raises(PackError) as caught:
        parse_pack(text, path)
    problems = caught.value.problems
    assert any(p.startswith(f"{path}:8: rules[1] (ok.rule): duplicate rule id") for p in problems)
    assert any(p.startswith(f"{path}:13: rules[2] (bad.regex)") and "does not compile" in p for p in problems)
    assert any(p.startswith(f"{path}:18: rules[3] (two.matchers): severity") for p in problems)
    assert any(p.startswith(f"{path}:24: rules[4] (no.such)") and "unknown check 'horoscope'" in p for p in problems)
    assert any(p.startswith(f"{path}:") and "rules[5] (empty.words)" in p and "at least 1" in p for p in problems)


def test_shipped_packs_load_and_match_each_other() -> None:
    from runbook.checks import pack_for

    en, nl = pack_for("en"), pack_for("nl")
    assert [r.id for r in en.rules] == [r.id for r in nl.rules]  # every rule has its Dutch twin
    with pytest.raises(PackError, match="no rule pack for language 'fr'"):
        pack_for("fr")


def test_policy_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "brand.yaml"
    path.write_text("reviewed_hashtags: [ok]\nlink_timeout: -1\nasset_hashes: [nothex]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ") and "link_timeout" in str(caught.value)
    path.write_text("asset_library: assets\naccounts: {brand: {authors: [sam]}}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="assets is not a folder"):
        load_policy(path)
    (tmp_path / "assets").mkdir()
    assert load_policy(path).asset_library == tmp_path / "assets"
    example = load_policy(Path(__file__).parents[2] / "docs" / "brand.example.yaml")
    assert "brandlove" in example.reviewed and example.accounts["brand_nl"].authors == ["noor"]
