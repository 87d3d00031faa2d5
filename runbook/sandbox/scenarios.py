"""The three doctrine incidents as storm scenarios: the brand account, the offending post, and what
people wrote back (templates by tone, in English and some Dutch). Data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    id: str
    brand: str  # the brand account handle (without @)
    platform: str
    title: str
    offending_text: str
    offending_media: list[dict[str, str]]
    historic_start: str  # ISO time of the real incident, for reproducible runs
    tones: dict[str, float]  # tone -> weight
    templates: dict[str, list[str]]  # tone -> templates ({brand}, {tag}, {emoji}, {n})
    tags: list[str] = field(default_factory=list)
    reply_share: float = 0.6  # share of mentions that answer the offending post directly


_COMMON_NL = {
    "angry": [
        "@{brand} dit is echt schandalig. Wie keurt dit goed? {emoji}",
        "Wat een afgang van @{brand}. Ik zeg mijn abonnement op. {tag}",
    ],
    "concerned": [
        "@{brand} hopelijk komt er snel een verklaring. Dit kan echt niet.",
        "Benieuwd hoe @{brand} dit gaat oplossen {tag}",
    ],
    "mocking": ["De social media stagiair van @{brand} heeft het zwaar vandaag {emoji}"],
}

# Data: every scenario names every field, so the entries share their shape on purpose, with each
# other and with runbook.engine.demo's scenarios, which replay the same three incidents.
SCENARIOS: dict[str, Scenario] = {
    "us-airways": Scenario(
        id="us-airways",
        brand="USAirways",
        platform="x",
        title="Offensive image sent in a reply to a customer complaint",
        offending_text=(
            "@ElleRAY We welcome feedback, Elle. If your travel is complete, you can detail it "
            "here for review and follow-up: http://t.co/vxB3pV0"
        ),
        offending_media=[{"name": "reply-image.jpg", "sha256": "0" * 64}],
        historic_start="2014-04-14T16:20:00+00:00",
        tones={"angry": 0.4, "mocking": 0.25, "concerned": 0.15, "news": 0.12, "supportive": 0.08},
        templates={
            "angry": [
                "@{brand} what on earth did you just send to a customer?! {emoji}",
                "@{brand} this is disgusting. Explain yourselves. {tag}",
                "Never flying @{brand} again after that reply. Unbelievable.",
                "@{brand} my kids follow you. Delete that NOW.",
                "@{brand} {n} min and that image is still up? Who runs this account?",
            ],
            "mocking": [
                "Customer service at @{brand} really going above and beyond today {emoji}",
                "@{brand} 'we welcome feedback' indeed {emoji} {tag}",
                "Somebody at @{brand} is having the worst Monday of their career",
            ],
            "concerned": [
                "@{brand} was your account hacked? That reply can't be intentional.",
                "Hope the person who got that @{brand} reply is ok. Not what you expect from an airline.",
                "@{brand} please tell us how this happened and what you are doing about it",
            ],
            "news": [
                "BREAKING: @{brand} replies to customer complaint with graphic image {tag}",
                "Airline @{brand} apologises? Screenshots of the reply are spreading fast {tag}",
            ],
            "supportive": [
                "@{brand} mistakes happen, just own it and fix it",
                "Feel for the social team at @{brand} today. Own it, apologise, move on.",
            ],
            **{f"nl_{k}": v for k, v in _COMMON_NL.items()},
        },
        tags=["#USAirways", "#PRfail", "#fail"],
    ),
    "red-cross": Scenario(
        id="red-cross",
        brand="RedCross",
        platform="x",
        title="A staff member's personal tweet about beer sent from the brand account",
        offending_text=(
            "Ryan found two more 4 bottle packs of Dogfish Head's Midas Touch beer.... "
            "when we drink we do it right #gettngslizzerd"
        ),
        offending_media=[],
        historic_start="2011-02-15T23:24:00+00:00",
        tones={"mocking": 0.45, "supportive": 0.25, "concerned": 0.15, "news": 0.1, "angry": 0.05},
        templates={
            "mocking": [
                "@{brand} #gettngslizzerd is my new favourite hashtag {emoji}",
                "Getting slizzerd for a good cause with @{brand} tonight {emoji}",
                "@{brand} so is the beer donation-funded? {emoji}",
            ],
            "supportive": [
                "@{brand} happens to the best of us. Donating a pint (of blood) this week.",
                "Love how @{brand} handled that. Honest and funny. #gettngslizzerd",
                "Dogfish Head + @{brand} = best collab of the year. Donate!",
            ],
            "concerned": [
                "@{brand} is that your staff drinking on the job?",
                "Wrong account @{brand}? Happens, but someone should check those phone logins.",
            ],
            "news": [
                "@{brand} rogue tweet about beer goes viral {tag}",
                "Charity @{brand} says staff member sent personal tweet from official account {tag}",
            ],
            "angry": ["@{brand} I donate to you, not to your bar tab."],
            **{f"nl_{k}": v for k, v in _COMMON_NL.items()},
        },
        tags=["#gettngslizzerd", "#RedCross"],
        reply_share=0.5,
    ),
    "digiorno": Scenario(
        id="digiorno",
        brand="DiGiorno",
        platform="x",
        title="A pizza joke on the trending hashtag #WhyIStayed (about domestic violence)",
        offending_text="#WhyIStayed You had pizza.",
        offending_media=[],
        historic_start="2014-09-08T22:40:00+00:00",
        tones={"angry": 0.55, "concerned": 0.15, "mocking": 0.15, "news": 0.1, "supportive": 0.05},
        templates={
            "angry": [
                "@{brand} #WhyIStayed is about domestic violence. How could you joke about that?",
                "@{brand} read a hashtag before you use it. Survivors deserve better. {emoji}",
                "Disgusted by @{brand} making a pizza joke out of abuse. #WhyIStayed",
                "@{brand} this is not marketing material. Delete it.",
            ],
            "concerned": [
                "@{brand} I don't think your social team knew what #WhyIStayed was about",
                "@{brand} please apologise to the people sharing their stories under #WhyIStayed",
            ],
            "mocking": ["Marketing 101 from @{brand}: never check what a trending hashtag means {emoji}"],
            "news": ["Frozen pizza brand @{brand} under fire for #WhyIStayed tweet {tag}"],
            "supportive": ["@{brand} at least you're answering everyone personally. That matters."],
            **{f"nl_{k}": v for k, v in _COMMON_NL.items()},
        },
        tags=["#WhyIStayed", "#DiGiorno"],
    ),
}

EMOJI = ["😡", "🤦", "😬", "🙄", "😂", "😳", "🍕", "🍺", "👀", "💀"]
SYLLABLES = [
    "ka",
    "li",
    "mo",
    "ra",
    "ven",
    "tor",
    "el",
    "sa",
    "jo",
    "bri",
    "an",
    "de",
    "nu",
    "pe",
    "qui",
    "zo",
    "mar",
    "tin",
    "lou",
    "ke",
]
