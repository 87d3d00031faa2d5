"""Language detection and sentiment scoring: offline, per language, behind a pluggable interface."""

from __future__ import annotations

import pytest

from runbook.listen.language import detect_language
from runbook.listen.sentiment import DutchLexiconAnalyzer, default_analyzer, is_negative, load_analyzer
from runbook.sandbox.storm import generate


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@brand this is disgusting. Explain yourselves.", "en"),
        ("Never flying @brand again after that reply. Unbelievable.", "en"),
        ("@brand dit is echt schandalig. Wie keurt dit goed? 😡", "nl"),
        ("Benieuwd hoe @brand dit gaat oplossen #fail", "nl"),
        ("Der Service ist heute nicht gut", "de"),
        ("😡😡 #fail @brand", "und"),
    ],
)
def test_language_of_short_posts(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_matches_the_storm_simulator_on_nearly_every_mention() -> None:
    mentions = generate("us-airways", mentions_count=3000, seed=7)
    dutch = [m for m in mentions if m.meta["lang"] == "nl"]
    assert dutch, "the simulator writes some Dutch"
    wrong = [m.text for m in mentions if detect_language(m.text) not in (m.meta["lang"], "und")]
    assert len(wrong) / len(mentions) < 0.01, wrong[:5]
    assert sum(detect_language(m.text) == "nl" for m in dutch) / len(dutch) > 0.95


def test_the_default_model_reads_english_and_dutch() -> None:
    analyzer = default_analyzer()
    assert is_negative(analyzer.score("@brand this is disgusting. Explain yourselves.", "en"))
    assert analyzer.score("Great service from @brand today, thanks!", "en") > 0.5
    assert is_negative(analyzer.score("Wat een afgang van @brand. Ik zeg mijn abonnement op.", "nl"))
    assert analyzer.score("@brand bedankt voor de snelle hulp, top!", "nl") > 0.5


def test_dutch_negation_boosters_and_idioms() -> None:
    nl = DutchLexiconAnalyzer()
    assert nl.score("Dat is goed", "nl") > 0
    assert nl.score("Dat is niet goed", "nl") < 0
    assert nl.score("Dat is heel erg slecht!", "nl") < nl.score("Dat is slecht", "nl") < 0
    assert nl.score("Dit kan echt niet", "nl") < 0
    assert nl.score("", "nl") == 0.0


class UpperIsAngry:
    name = "upper"

    def score(self, text: str, language: str) -> float:
        return -1.0 if text.isupper() else 0.5


def not_an_analyser() -> object:
    return object()


def test_a_team_plugs_in_its_own_analyser() -> None:
    analyzer = load_analyzer(f"{__name__}:UpperIsAngry")
    assert analyzer.name == "upper" and analyzer.score("NO", "en") == -1.0
    with pytest.raises(ValueError, match="package.module:factory"):
        load_analyzer("no-colon")
    with pytest.raises(ValueError, match="gives no analyser"):
        load_analyzer(f"{__name__}:not_an_analyser")


def test_a_plugged_in_analyser_fills_the_verdict_columns_from_its_score(sqlite_engine) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from runbook.listen import NewMention, mentions_in_window, store_mentions

    at = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    items = [
        NewMention(platform="x", ref=ref, account="SkyJet", author="amy", text=text, created_at=at)
        for ref, text in (("1", "WHERE IS MY BAG"), ("2", "thanks for nothing"))
    ]
    store_mentions(sqlite_engine, items, source="t", analyzer=load_analyzer(f"{__name__}:UpperIsAngry"))
    stored = {m.ref: m for m in mentions_in_window(sqlite_engine, since=at, until=datetime(2025, 1, 1, tzinfo=UTC))}
    assert (stored["1"].label, stored["1"].needs_answer, stored["1"].negative) == ("negative", True, True)
    assert (stored["2"].label, stored["2"].needs_answer) == ("positive", False)  # what the plug-in said
