"""Drill scenarios: the declarative YAML a team writes (brand, offending post, audiences with their
size and temper, injects, deadlines), validated with file:line:col errors by the playbook machinery.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from runbook.spec.checks import pydantic_issues
from runbook.spec.durations import Duration
from runbook.spec.errors import SpecError, SpecIssue
from runbook.spec.source import Document, read_document

__all__ = [
    "Audience",
    "Brand",
    "Deadlines",
    "Inject",
    "Scenario",
    "load_scenario",
    "scenario_files",
    "scenario_schema",
    "find_scenario",
]

Temper = Literal["calm", "concerned", "angry", "furious"]
# Share of a temper's posts that are negative before the brand does anything.
TEMPER_NEGATIVE = {"calm": 0.3, "concerned": 0.5, "angry": 0.75, "furious": 0.9}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Model):
    handle: str = Field(pattern=r"^[A-Za-z0-9_]{1,50}$", description="The brand account, without @")
    platform: Literal["x", "instagram", "linkedin", "facebook", "mastodon", "bluesky"] = "x"
    followers: int = Field(default=100_000, ge=0)


class Offending(_Model):
    text: str = Field(min_length=1, max_length=2000)
    media: list[str] = Field(default_factory=list, description="File names of attached media")


class Audience(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    size: int = Field(ge=1, le=20_000, description="People in this audience")
    temper: Temper
    activity: float = Field(default=1.0, gt=0, le=10, description="Posts per person per hour at the peak")
    followers: int = Field(default=300, ge=1, description="Typical follower count (heavy-tailed around it)")
    language: Literal["en", "nl"] = "en"
    negative: list[str] = Field(min_length=1, description="What they write when upset ({brand} = @handle)")
    neutral: list[str] = Field(default_factory=list)
    positive: list[str] = Field(default_factory=list)


class Inject(_Model):
    at: Duration = Field(description="Time after the offending post")
    kind: Literal["journalist", "viral", "staff_post"]
    author: str = Field(default="", pattern=r"^[A-Za-z0-9_]{0,50}$")
    followers: int = Field(default=50_000, ge=0)
    text: str = ""
    answer_within: Duration | None = Field(default=None, description="journalist: a reply or statement by then")
    boost: float = Field(default=1.0, ge=0, le=10, description="viral: extra attention it brings")


class Deadlines(_Model):
    freeze: Duration = timedelta(minutes=15)
    statement: Duration = timedelta(minutes=90)
    replies: Duration = timedelta(hours=3)


class Scenario(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1, max_length=200)
    language: Literal["en", "nl"] = "en"
    playbook: str = Field(default="social-media-mistake", description="Playbook the drill runs by default")
    summary: str = Field(min_length=1, description="What happened, as the team would start the incident")
    brand: Brand
    offending: Offending
    duration: Duration = timedelta(hours=6)
    audiences: list[Audience] = Field(min_length=1)
    injects: list[Inject] = Field(default_factory=list)
    deadlines: Deadlines = Deadlines()
    scheduled_posts: int = Field(default=3, ge=0, le=50, description="Posts in the queue for the freeze to hold")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=30) <= value <= timedelta(hours=48):
            raise ValueError("must be between 30m and 48h")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        seen = [a.id for a in self.audiences]
        if len(seen) != len(set(seen)):
            raise ValueError(f"audience ids must be unique: {seen}")
        return self

    @property
    def minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in `path`, or SpecError with every problem as FILE:LINE:COL: PATH: MESSAGE."""
    # Same read/validate/cross-check/raise shape as spec.loader.load_roster; a shared helper would
    # belong in runbook.spec (another package's), and the two differ in model and extra checks.
    doc = read_document(Path(path))
    issues: list[SpecIssue] = list(doc.issues)
    scenario = None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(doc, exc, model=Scenario))
    issues.extend(_inject_checks(doc))
    if issues:
        raise SpecError(issues)
    assert scenario is not None
    return scenario


def _inject_checks(doc: Document) -> list[SpecIssue]:
    """Each inject that validates on its own is checked against the scenario, whatever else is wrong."""
    from runbook.spec.durations import parse_duration

    data: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
    try:
        duration = parse_duration(data.get("duration", "6h"))
    except ValueError:
        duration = None
    out: list[SpecIssue] = []
    raw = data.get("injects")
    items: list[Any] = raw if isinstance(raw, list) else []
    for n, item in enumerate(items):
        try:
            inject = Inject.model_validate(item)
        except ValidationError:
            continue  # reported with the rest by the model
        if duration is not None and inject.at >= duration:
            out.append(doc.issue(("injects", n, "at"), f"is after the scenario ends ({data.get('duration', '6h')})"))
        for name in ("text", "author"):
            if inject.kind in ("journalist", "staff_post") and not getattr(inject, name):
                out.append(doc.issue(("injects", n), f"a {inject.kind} inject needs {name!r}"))
    return out


SHIPPED = Path(__file__).resolve().parent.parent.parent / "drills"


def scenario_files(folder: Path | None = None) -> list[Path]:
    return sorted((folder or SHIPPED).glob("*.yaml"))


def find_scenario(ref: str, folder: Path | None = None) -> Path:
    """A path, or the id of a scenario in `folder` (default: the shipped `drills/`)."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = (folder or SHIPPED) / f"{ref}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(p.stem for p in scenario_files(folder)) or "none"
    raise FileNotFoundError(f"no drill scenario {ref!r} (known: {known})")


def scenario_schema() -> dict:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "runbook drill scenario"
    return schema
