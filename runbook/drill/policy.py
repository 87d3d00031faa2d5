"""Policies: how a simulated team plays a drill (when it freezes, what statement it publishes and
when, how it answers people). The built-in ones define the score's baselines; a YAML policy file
drives `runbook drill start --auto` and can be played offline against the public.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runbook.drill.actions import Action
from runbook.drill.public import Judge, Public
from runbook.drill.scenario import Scenario
from runbook.spec.checks import pydantic_issues
from runbook.spec.durations import Duration
from runbook.spec.errors import SpecError
from runbook.spec.source import read_document

__all__ = ["BUILTIN", "Policy", "find_policy", "load_policy", "play_offline"]

BUILTIN = Path(__file__).resolve().parent / "policies"
Texts = dict[str, str]  # language -> text; {brand} is the brand's handle


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatementPlan(_Model):
    at: Duration
    text: Texts = Field(description="Per language; the approver's edited text in a live drill")


class RepliesPlan(_Model):
    start: Duration
    every: Duration = timedelta(minutes=30)
    per_minute: int = Field(default=60, ge=1, le=1000)
    style: str = Field(default="personal", pattern="^(personal|copy_paste|wrong_quote)$")
    text: Texts = Field(default_factory=dict, description="copy_paste: the one text everyone gets")


class PostPlan(_Model):
    at: Duration
    text: str


class Policy(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str = ""
    freeze: Duration | None = Field(default=None, description="When the freeze is confirmed; none: never frozen")
    delete: str = Field(default="delete", pattern="^(delete|keep)$")
    statement: StatementPlan | None = None
    replies: RepliesPlan | None = None
    posts: list[PostPlan] = Field(default_factory=list, description="Posts published regardless of the freeze")

    def text(self, texts: Texts, scenario: Scenario) -> str:
        chosen = texts.get(scenario.language) or texts.get("en") or next(iter(texts.values()), "")
        return chosen.format(brand=scenario.brand.handle)


def load_policy(path: str | Path) -> Policy:
    doc = read_document(Path(path))
    try:
        policy = Policy.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError([*doc.issues, *pydantic_issues(doc, exc, model=Policy)]) from None
    if doc.issues:
        raise SpecError(doc.issues)
    return policy


def find_policy(ref: str) -> Path:
    path = Path(ref)
    if path.is_file():
        return path
    candidate = BUILTIN / f"{ref}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(sorted(p.stem for p in BUILTIN.glob("*.yaml")))
    raise FileNotFoundError(f"no drill policy {ref!r} (a file, or one of: {known})")


def _minute(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def personal_reply(person: str, said: str, language: str) -> str:
    """What a careful community manager writes: their words quoted back, an apology, what changes."""
    from runbook.messaging.concerns import concern_of, quote_of
    from runbook.messaging.doctrine import blocking_words

    quote = quote_of(said, 70)
    concern = concern_of(said, language)
    if blocking_words((language,), "reply").search(quote):
        quote = ""  # their word ("hacked") in our mouth reads as an excuse: answer without quoting it
    # Dutch and English written out whole, not one template: the sentences are translated, not filled in.
    if language == "nl":
        opener = {
            "hurt": "U heeft gelijk dat u boos bent",
            "leave": "We begrijpen uw reactie",
            "explain": "U verdient een uitleg",
        }.get(concern, "Dank dat u ons dit laat weten")
        return (
            f"@{person} {opener}" + (f': "{quote}"' if quote else "") + ". Het was onze fout en het spijt ons. "
            "We hebben het verwijderd en passen aan hoe we berichten controleren."
        )
    opener = {
        "hurt": "You are right to be upset",
        "leave": "We understand why you feel that way",
        "explain": "You deserve an answer",
        "delete": "You were right to ask us to remove it",
        "affected": "You are right to think of the people it hurt",
    }.get(concern, "Thank you for telling us")
    return (
        f"@{person} {opener}" + (f': "{quote}"' if quote else "") + ". It was our mistake and we are sorry. "
        "We removed it and we are changing how posts are checked."
    )


def play_offline(
    scenario: Scenario, policy: Policy, *, seed: int, judge: Judge | None = None
) -> tuple[Public, list[Action]]:
    """Run the public for the whole scenario with `policy` reacting minute by minute."""
    public = Public(scenario=scenario, seed=seed, judge=judge)
    actions: list[Action] = []
    freeze_at = _minute(policy.freeze)
    statement = policy.statement
    statement_at = _minute(statement.at) if statement else None
    replies = policy.replies
    reply_start = _minute(replies.start) if replies else None
    every = max(1, _minute(replies.every) or 30) if replies else 0
    answered: set[str] = set()
    queue: list[str] = []
    ended = min(scenario.minutes, 10_000)
    for t in range(ended):
        if freeze_at is not None and t == freeze_at:
            actions.append(Action(at=t, kind="freeze"))
        if statement is not None and statement_at is not None and t == statement_at:
            actions.append(Action(at=t, kind="statement", text=policy.text(statement.text, scenario)))
        for post in policy.posts:
            if _minute(post.at) == t:
                actions.append(Action(at=t, kind="post", text=post.text.format(brand=scenario.brand.handle)))
        if replies and reply_start is not None and t >= reply_start:
            if (t - reply_start) % every == 0:
                queue.extend(h for h in public.negative_posters() if h not in answered and h not in queue)
            for handle in queue[: replies.per_minute]:
                answered.add(handle)
                actions.append(Action(at=t, kind="reply", to=handle, text=_reply_text(public, policy, handle)))
            del queue[: replies.per_minute]
        public.advance(t + 1, actions)
    return public, actions


def _reply_text(public: Public, policy: Policy, handle: str) -> str:
    scenario = public.scenario
    replies = policy.replies
    assert replies is not None
    if replies.style == "copy_paste":
        return f"@{handle} " + policy.text(replies.text, scenario)
    person = public.by_handle[handle]
    said = person.last_text or ""
    if replies.style == "wrong_quote":
        said = "Lovely weather for a product launch today"
    return personal_reply(handle, said, scenario.language)
