"""Pydantic models of the playbook language: inputs, steps, sign-offs, the playbook itself.

Field validation only; cross-checks that need the whole document, the step-kind registry or
the roster live in `runbook.spec.checks`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from runbook.errors import InvalidSpec
from runbook.spec.durations import Duration

KEBAB = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
IDENT = r"^[a-z_][a-z0-9_]*$"

StepId = Annotated[str, StringConstraints(pattern=KEBAB, max_length=64)]
Name = Annotated[str, StringConstraints(pattern=IDENT, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class TemplateRef:
    """Marks a step parameter that names a template file under `templates/` (checked to exist)."""

    def __repr__(self) -> str:
        return "TemplateRef()"


TemplatePath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]+$", max_length=200), TemplateRef()]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldType(str, Enum):  # noqa: UP042 - StrEnum would change str() in rendered forms
    string = "string"
    text = "text"
    url = "url"
    choice = "choice"
    list = "list"
    bool = "bool"
    int = "int"


class InputField(Strict):
    """A typed field: a playbook input, or an extra field an approver fills in at a sign-off."""

    type: FieldType = FieldType.string
    title: str | None = None
    description: str | None = None
    required: bool = False
    default: Any = None
    options: list[str] | None = Field(default=None, description="The allowed values of a `choice`")

    @model_validator(mode="after")
    def _coherent(self) -> InputField:
        if self.type is FieldType.choice and not self.options:
            raise ValueError("a choice needs `options`")
        if self.type is not FieldType.choice and self.options is not None:
            raise ValueError(f"`options` only applies to a choice, not to {self.type.value}")
        if self.default is not None:
            self.default = coerce_field_value(self, self.default)
        return self


def coerce_field_value(spec: InputField, value: Any) -> Any:
    """Validate and convert one value for a field; raises ValueError with a readable message."""
    kind = spec.type
    if kind in (FieldType.string, FieldType.text):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"must be {kind.value}")
        value = str(value)
        if kind is FieldType.string and "\n" in value:
            raise ValueError("a string is one line; use type text for several lines")
        return value
    if kind is FieldType.url:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError("must be an http(s) URL")
        return value
    if kind is FieldType.choice:
        if str(value) not in (spec.options or []):
            raise ValueError(f"must be one of {', '.join(spec.options or [])}")
        return str(value)
    if kind is FieldType.list:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise ValueError("must be a list of values")
        return [str(v) for v in value]
    if kind is FieldType.bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError("must be true or false")
    if kind is FieldType.int:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        try:
            return int(str(value), 10)
        except ValueError:
            raise ValueError("must be a whole number") from None
    raise ValueError(f"unknown type {kind}")  # pragma: no cover - enum is closed


class Signoff(Strict):
    """A gate: who may approve, how many, and what happens when nobody does in time."""

    roles: Annotated[list[Name], Field(min_length=1)]
    quorum: Annotated[int, Field(ge=1, le=20)] = 1
    not_requester: bool = False
    timeout: Duration | None = None
    escalate_to: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]+$")]] = []
    on_timeout: Literal["fail", "skip", "continue"] = "fail"
    prompt: Annotated[str, StringConstraints(max_length=3000)] | None = None
    input: dict[Name, InputField] = {}

    @model_validator(mode="after")
    def _escalation_needs_timeout(self) -> Signoff:
        if self.escalate_to and self.timeout is None:
            raise ValueError("`escalate_to` needs a `timeout`: escalation happens when it passes")
        return self


class Step(Strict):
    id: StepId
    title: str | None = None
    uses: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]*$")]
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[StepId] = []
    when: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    signoff: Signoff | None = None
    timeout: Duration | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 0

    @property
    def label(self) -> str:
        return self.title or self.id


class Playbook(Strict):
    id: StepId
    title: Text
    description: str = ""
    version: Annotated[int, Field(ge=1)] = 1
    inputs: dict[Name, InputField] = {}
    roles: list[Name] = []
    steps: Annotated[list[Step], Field(min_length=1)]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def resolve_inputs(self, given: dict[str, Any]) -> dict[str, Any]:
        """Apply defaults and types to inputs given at start; raises InputError listing every problem."""
        problems: list[str] = []
        resolved: dict[str, Any] = {}
        for name in given:
            if name not in self.inputs:
                problems.append(f"{name}: not an input of {self.id} (known: {', '.join(self.inputs) or 'none'})")
        for name, spec in self.inputs.items():
            if name in given and given[name] not in (None, ""):
                try:
                    resolved[name] = coerce_field_value(spec, given[name])
                except ValueError as exc:
                    problems.append(f"{name}: {exc}")
            elif spec.required:
                problems.append(f"{name}: required ({spec.title or spec.type.value})")
            else:
                resolved[name] = spec.default
        if problems:
            raise InputError(problems)
        return resolved


class InputError(InvalidSpec, ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))
