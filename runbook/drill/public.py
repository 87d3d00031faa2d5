"""The simulated public: people of each audience post about the brand minute by minute, and react
to what the team does (the `Action`s they can see). Deterministic: minute t draws from its own
seeded generator, so the same scenario, seed and actions give the same mentions, whether the run
advances minute by minute during a live drill or in one go for a baseline or a replay.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from runbook.drill.actions import Action
from runbook.drill.scenario import TEMPER_NEGATIVE, Scenario

__all__ = ["Judge", "Mention", "Public", "simulate"]

# Tunables of the reaction model (documented in docs/drills.md, "How the public reacts").
RISE_MINUTES = 15  # attention builds up over the first quarter hour
NATURAL_DECAY = 240  # minutes: attention's natural e-folding time when the brand does nothing
FLARE_HALF_LIFE = 60  # minutes: a flare-up's extra attention halves each hour
MOOD_HALF_LIFE = 90
IGNORED_AFTER = 120  # minutes without an answer after a negative post: the person reposts
QUOTE = re.compile(r"[\"“]([^\"”]{4,})[\"”]")
SPACE = re.compile(r"\s+")

PHRASES = {
    "en": {
        "repost": "Still no answer from @{brand} after {h} hours. {orig}",
        "copy": "@{brand} sent me the exact same copy-paste reply as everyone else. Do you even read what we write?",
        "wrong": "@{brand} did you even read my post? That is not what I said at all.",
        "thanks": "Thanks @{brand} for the personal answer. Appreciated.",
        "freeze_post": "@{brand} is posting promos in the middle of this?! Read the room. {orig}",
        "bad_statement": "That @{brand} 'apology' makes it worse. Nobody believes that excuse.",
        "silence": "Hours later and still not a word from @{brand}. Silence says it all.",
        "no_comment": "Reporter here: @{brand} did not respond to requests for comment.",
        "neutral": "Following the @{brand} story.",
    },
    "nl": {
        "repost": "Na {h} uur nog steeds geen antwoord van @{brand}. {orig}",
        "copy": "@{brand} stuurt mij exact hetzelfde standaardantwoord als iedereen. Lezen jullie wel wat we schrijven?",
        "wrong": "@{brand} hebben jullie mijn bericht wel gelezen? Dat is helemaal niet wat ik zei.",
        "thanks": "Dank @{brand} voor het persoonlijke antwoord. Gewaardeerd.",
        "freeze_post": "@{brand} gaat gewoon door met reclame terwijl dit speelt?! {orig}",
        "bad_statement": "Die 'excuses' van @{brand} maken het alleen maar erger. Niemand gelooft dat smoesje.",
        "silence": "Uren later nog steeds geen woord van @{brand}. Die stilte zegt genoeg.",
        "no_comment": "Journalist hier: @{brand} reageerde niet op verzoeken om commentaar.",
        "neutral": "Ik volg het verhaal over @{brand}.",
    },
}


@dataclass(frozen=True)
class Mention:
    key: str
    t: int  # simulated minute after the offending post
    author: str
    audience: str
    followers: int
    text: str
    negative: bool
    kind: str  # post | repost | thanks | copy | wrong | inject | flare
    language: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "t": self.t,
            "author": self.author,
            "audience": self.audience,
            "followers": self.followers,
            "text": self.text,
            "negative": self.negative,
            "kind": self.kind,
            "language": self.language,
        }


@dataclass
class _Person:
    handle: str
    audience: int
    followers: int
    factor: float  # how much more or less than the audience's average this person posts
    first_negative: int | None = None
    last_text: str = ""
    said: str = ""  # everything they wrote (casefolded), for checking a reply's quotes
    answered: str = ""  # "" | good | copy | wrong
    answered_at: int | None = None
    reposted: bool = False


class Judge:
    """Doctrine checks on what the brand published, cached per text (statements are few)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._cache: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._checker: Any = None

    def findings(self, text: str, *, target: str = "statement") -> list[dict[str, str]]:
        key = (target, text)
        if key not in self._cache:
            if self._checker is None:
                from runbook.messaging.doctrine import MessageChecker

                self._checker = MessageChecker(links=False)
            result = self._checker.check(text, language=self.language, target=target)
            self._cache[key] = [
                {"rule": f.rule, "severity": f.severity, "message": f.message}
                for f in result.findings
                if f.severity == "block"
            ]
        return self._cache[key]

    def close(self) -> None:
        if self._checker is not None:
            self._checker.close()
            self._checker = None


@dataclass
class _Flare:
    at: int
    heat: float
    mood: float


@dataclass
class Public:
    """One scenario's public for one seed; `advance(until, actions)` generates minutes up to `until`."""

    scenario: Scenario
    seed: int = 1
    judge: Judge | None = None
    t: int = 0  # next minute to generate
    mentions: list[Mention] = field(default_factory=list)
    series: list[dict[str, int]] = field(default_factory=list)  # per minute: total, negative
    reactions: list[dict[str, Any]] = field(default_factory=list)  # what moved the public, and when
    _applied: int = 0
    _calm_rate: float = 0.0
    _calm: float = 1.0
    _mood_targets: list[tuple[int, float]] = field(default_factory=list)
    _flares: list[_Flare] = field(default_factory=list)
    _frozen_at: int | None = None
    _thawed_at: int | None = None
    _statement_ok: int | None = None
    _statement_any: int | None = None
    _replied_journalist: set[str] = field(default_factory=set)
    _ordered: list[Action] = field(default_factory=list)
    _duplicates: Duplicates = field(default_factory=lambda: Duplicates())

    def __post_init__(self) -> None:
        self.judge = self.judge or Judge(self.scenario.language)
        rng = random.Random(f"{self.scenario.id}:{self.seed}:people")
        self.people: list[_Person] = []
        self.by_handle: dict[str, _Person] = {}
        for index, audience in enumerate(self.scenario.audiences):
            for _ in range(audience.size):
                handle = _handle(rng)
                while handle in self.by_handle or handle.casefold() == self.scenario.brand.handle.casefold():
                    handle = _handle(rng)
                person = _Person(
                    handle=handle,
                    audience=index,
                    followers=min(int(audience.followers * 0.3 * rng.paretovariate(1.2)), 5_000_000),
                    factor=rng.lognormvariate(0, 0.6),
                )
                self.people.append(person)
                self.by_handle[handle] = person
        self._neg0 = [TEMPER_NEGATIVE[a.temper] for a in self.scenario.audiences]

    # -- the team's actions -------------------------------------------------------------------
    def _apply(self, action: Action, t: int) -> None:
        d = self.scenario.deadlines
        if action.kind == "freeze" and self._frozen_at is None:
            self._frozen_at = t
            early = t <= d.freeze.total_seconds() / 60
            self._calm_rate += 1 / 900 if early else 1 / 2400
            self._mood_targets.append((t, 0.92 if early else 0.97))
            self._note(t, "freeze", "the queue went silent" + ("" if early else " (late)"), good=True)
        elif action.kind == "thaw":
            self._thawed_at = t
        elif action.kind == "statement":
            assert self.judge is not None  # __post_init__ sets it
            findings = self.judge.findings(action.text)
            if self._statement_any is None:
                self._statement_any = t
            if findings:
                self._flares.append(_Flare(t, heat=1.5, mood=0.6))
                rules = ", ".join(sorted({f["rule"] for f in findings}))
                self._note(t, "statement", f"statement failing the doctrine checks ({rules})", good=False)
            elif self._statement_ok is None:
                self._statement_ok = t
                on_time = t <= d.statement.total_seconds() / 60
                self._calm_rate += 1 / 80 if on_time else 1 / 160
                self._mood_targets.append((t, 0.45 if on_time else 0.65))
                self._note(
                    t, "statement", "statement passing the doctrine checks" + ("" if on_time else " (late)"), good=True
                )
        elif action.kind == "post":
            if (
                self._frozen_at is not None
                and self._frozen_at <= t
                and (self._thawed_at is None or t < self._thawed_at)
            ):
                self._flares.append(_Flare(t, heat=0.7, mood=0.25))
                self._note(t, "post", "a post went out during the freeze", good=False, text=action.text)
        elif action.kind == "reply":
            self._reply(action, t)

    def _reply(self, action: Action, t: int) -> None:
        target = action.to.lstrip("@")
        for injected in self.scenario.injects:
            if injected.kind == "journalist" and injected.author == target:
                self._replied_journalist.add(target)
        person = self.by_handle.get(target)
        # Copy-paste = the same answer to people who said different things; two people who wrote the
        # same words and got the same words back were still answered on what they said.
        duplicate = self._duplicates.add(action.text, person.last_text if person is not None else action.text)
        if person is None or person.answered:
            return
        wrong = any(_norm(q) not in person.said for q in QUOTE.findall(action.text))
        person.answered = "copy" if duplicate else "wrong" if wrong else "good"
        person.answered_at = t
        if person.answered != "good":
            self._flares.append(_Flare(t, heat=0.02, mood=0.004))
        else:
            self._mood_targets.append((t, 0.999))

    def _note(self, t: int, kind: str, what: str, *, good: bool, text: str = "") -> None:
        self.reactions.append({"t": t, "kind": kind, "what": what, "good": good, **({"text": text} if text else {})})

    # -- the public -------------------------------------------------------------------------
    def _scheduled_flares(self, t: int) -> None:
        d = self.scenario.deadlines
        if t == int(d.statement.total_seconds() // 60) and self._statement_ok is None and self._statement_any is None:
            self._flares.append(_Flare(t, heat=0.6, mood=0.2))
            self._note(t, "silence", "no statement by the deadline", good=False)
        for _n, inject in enumerate(self.scenario.injects):
            at = int(inject.at.total_seconds() // 60)
            if inject.kind == "viral" and t == at:
                self._flares.append(_Flare(t, heat=inject.boost, mood=0.05))
                self._note(t, "inject", f"inject: a screenshot goes viral (x{inject.boost:g})", good=False)
            if inject.kind == "journalist" and inject.answer_within is not None:
                due = at + int(inject.answer_within.total_seconds() // 60)
                if (
                    t == due
                    and inject.author not in self._replied_journalist
                    and (self._statement_ok is None or self._statement_ok > due)
                ):
                    self._flares.append(_Flare(t, heat=0.5, mood=0.15))
                    self._note(t, "inject", f"@{inject.author} publishes without a comment from the brand", good=False)

    def _attention(self, t: int) -> tuple[float, float]:
        self._calm *= math.exp(-self._calm_rate)
        base = (1 - math.exp(-(t + 1) / RISE_MINUTES)) * math.exp(-t / NATURAL_DECAY)
        heat = sum(f.heat * 0.5 ** ((t - f.at) / FLARE_HALF_LIFE) for f in self._flares)
        mood = 1.0
        for at, target in self._mood_targets:
            mood *= 1 - (1 - target) * min(1.0, (t - at + 1) / 20)
        mood *= 1 + sum(f.mood * 0.5 ** ((t - f.at) / MOOD_HALF_LIFE) for f in self._flares)
        return base * self._calm * (1 + heat), mood

    def advance(self, until: int, actions: list[Action]) -> list[Mention]:
        """Generate minutes [self.t, until); `actions` is everything seen so far (sorted by time)."""
        until = min(until, self.scenario.minutes)
        out: list[Mention] = []
        if len(actions) != len(self._ordered):  # new actions only ever come after the applied ones
            self._ordered = sorted(actions, key=Action.order)
        ordered = self._ordered
        while self.t < until:
            t = self.t
            while self._applied < len(ordered) and ordered[self._applied].at <= t:
                self._apply(ordered[self._applied], t)
                self._applied += 1
            self._scheduled_flares(t)
            out.extend(self._minute(t))
            self.t += 1
        self.mentions.extend(out)
        return out

    def _minute(self, t: int) -> list[Mention]:
        sc = self.scenario
        rng = random.Random(f"{sc.id}:{self.seed}:{t}")
        attention, mood = self._attention(t)
        phrases = PHRASES[sc.language]
        brand = sc.brand.handle
        out: list[Mention] = []

        def emit(
            person_handle: str, audience: str, followers: int, text: str, negative: bool, kind: str, language: str
        ) -> None:
            out.append(
                Mention(
                    key=f"drill:{sc.id}:{self.seed}:{t}:{len(out)}",
                    t=t,
                    author=person_handle,
                    audience=audience,
                    followers=followers,
                    text=text,
                    negative=negative,
                    kind=kind,
                    language=language,
                )
            )

        for inject in sc.injects:
            if inject.kind != "viral" and int(inject.at.total_seconds() // 60) == t:
                if inject.kind == "staff_post" and self._frozen_at is not None and self._frozen_at <= t:
                    self._note(t, "inject", "the staff member was told to stop posting: no staff post", good=True)
                    continue
                emit(
                    inject.author,
                    inject.kind,
                    inject.followers,
                    inject.text.format(brand=brand),
                    inject.kind == "staff_post",
                    "inject",
                    sc.language,
                )
                if inject.kind == "staff_post":
                    self._flares.append(_Flare(t, heat=0.4, mood=0.1))
                    self._note(t, "inject", f"a staff member (@{inject.author}) posts about it", good=False)
        activity = [a.activity / 60 * attention for a in sc.audiences]
        negative0 = [min(0.97, n * mood) for n in self._neg0]
        for person in self.people:
            audience = sc.audiences[person.audience]
            rate = activity[person.audience] * person.factor
            negative_p = negative0[person.audience]
            kind = "post"
            if person.answered == "good":
                rate *= 0.4
                negative_p *= 0.1
                kind = "thanks"
            elif person.answered in ("copy", "wrong"):
                rate *= 1.5
                negative_p = 0.95
                kind = person.answered
            elif person.first_negative is not None and t - person.first_negative >= IGNORED_AFTER:
                rate *= 2.5
                negative_p = max(negative_p, 0.85)
                kind = "repost"
            if rng.random() >= (rate if rate < 0.9 else 0.9):
                continue
            negative = rng.random() < negative_p
            if negative and kind in ("copy", "wrong") and person.reposted:
                text = rng.choice(audience.negative).format(brand=brand)
                kind = "post"
            elif negative and kind in ("copy", "wrong"):
                text = phrases[kind].format(brand=brand)
                person.reposted = True
            elif negative and kind == "repost":
                assert person.first_negative is not None  # "repost" follows a first negative post only
                hours = max(2, (t - person.first_negative) // 60)
                text = phrases["repost"].format(brand=brand, h=hours, orig=person.last_text)[:280]
            elif negative:
                text = rng.choice(audience.negative).format(brand=brand)
                kind = "post"
            elif kind == "thanks" and not person.reposted:
                text = phrases["thanks"].format(brand=brand)
                person.reposted = True
            else:
                pool = audience.positive or audience.neutral or [phrases["neutral"]]
                text = rng.choice(pool + audience.neutral).format(brand=brand)
                kind = "post"
            if negative and person.first_negative is None:
                person.first_negative = t
            person.last_text = text if kind == "post" else person.last_text
            person.said += " " + _norm(text)
            emit(person.handle, audience.id, person.followers, text, negative, kind, audience.language)
        self.series.append({"t": t, "total": len(out), "negative": sum(1 for m in out if m.negative)})
        return out

    # -- what the score reads ---------------------------------------------------------------
    def negative_posters(self) -> list[str]:
        return [p.handle for p in self.people if p.first_negative is not None]


class Duplicates:
    """Copy-paste detection as the public sees it: a reply near-identical (MinHash buckets, then
    exact Jaccard >= 0.8 on word 3-grams) to an earlier one sent to someone who said something else."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        self.sets: list[frozenset[int]] = []
        self.said: list[str] = []

    def add(self, text: str, said: str) -> bool:
        from runbook.messaging.similarity import HASHES, ROWS, jaccard, shingles, signature

        sh, said = shingles(text), _norm(said)
        sig = signature(sh)
        bands = [(band, sig[band * ROWS : (band + 1) * ROWS]) for band in range(HASHES // ROWS)]
        seen: set[int] = set()
        for band in bands:
            seen.update(self.buckets.get(band, [])[-8:])
        duplicate = any(self.said[j] != said and jaccard(sh, self.sets[j]) >= 0.8 for j in seen)
        for band in bands:
            self.buckets.setdefault(band, []).append(len(self.sets))
        self.sets.append(sh)
        self.said.append(said)
        return duplicate


def simulate(scenario: Scenario, *, seed: int, actions: list[Action], judge: Judge | None = None) -> Public:
    public = Public(scenario=scenario, seed=seed, judge=judge)
    public.advance(scenario.minutes, actions)
    return public


def _handle(rng: random.Random) -> str:
    from runbook.sandbox.scenarios import SYLLABLES

    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return name + (str(rng.randint(1, 999)) if rng.random() < 0.7 else "")


def _norm(text: str) -> str:
    """Compared the way a reply quotes people: without handles, links, tags' # or emoji."""
    from runbook.messaging.concerns import cleaned

    return SPACE.sub(" ", cleaned(text).casefold()).strip(" .!?")
