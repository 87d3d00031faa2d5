"""Validates a playbook document in two passes and gathers every problem before raising.

Pass 1 is field validation by the pydantic models; pass 2 cross-checks the whole document
against itself, the step-kind registry, the roster and the templates folder.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import jinja2
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails

from runbook.spec import expressions
from runbook.spec.errors import SpecError, SpecIssue
from runbook.spec.models import InputField, Playbook, Signoff, Step, TemplateRef
from runbook.spec.roster import Roster
from runbook.spec.source import Document, Loc

# Decision fields the engine owns; a sign-off's extra input may not reuse them.
RESERVED_DECISION_FIELDS = {"approve", "person", "channel", "comment", "escalate", "decision_id"}
_Model = TypeVar("_Model", bound=BaseModel)


class KindShape(Protocol):
    """What the checks read of a step kind (runbook.steps.base.StepKind has it); spec sits below steps."""

    @property
    def params(self) -> type[BaseModel]: ...
    @property
    def human(self) -> bool: ...
    @property
    def gate_fields(self) -> Callable[[BaseModel], Mapping[str, InputField]] | None: ...


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """Which playbook model owns the mapping at `loc` (for 'did you mean' suggestions)."""
    shape = tuple("#" if isinstance(p, int) else p for p in loc)
    if shape == ():
        return Playbook
    if shape == ("steps", "#"):
        return Step
    if shape == ("steps", "#", "signoff"):
        return Signoff
    if len(shape) == 2 and shape[0] == "inputs" or shape[:3] == ("steps", "#", "signoff") and len(shape) == 5:
        return InputField
    return None


def validate_playbook(
    doc: Document,
    *,
    kinds: Mapping[str, KindShape] | None = None,
    roster: Roster | None = None,
    templates_dir: Path | None = None,
) -> Playbook:
    playbook, issues = parse_model(doc, Playbook)
    steps = [(i, s) for i, s in enumerate(playbook.steps)] if playbook else _valid_steps(doc.data)
    context = _Context(doc, steps, playbook, kinds, roster, templates_dir)
    issues.extend(context.cross_check())
    if issues:
        raise SpecError(issues)
    assert playbook is not None
    return playbook


def parse_model(doc: Document, model: type[_Model], *, hint: bool = False) -> tuple[_Model | None, list[SpecIssue]]:
    """Pass 1 for any document: `doc` validated as `model` (None when invalid) and every issue so
    far, reading's included; `hint` names the model's fields in 'unknown field' messages."""
    issues = list(doc.issues)
    try:
        return model.model_validate(doc.data), issues
    except ValidationError as exc:
        return None, issues + pydantic_issues(doc, exc, model=model if hint else None)


def pydantic_issues(
    doc: Document, exc: ValidationError, prefix: Loc = (), *, model: type[BaseModel] | None = None
) -> list[SpecIssue]:
    """Pydantic errors as positioned issues; `model` is the one validated at `prefix` (for hints)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            owner = model if len(err["loc"]) == 1 and model is not None else _model_at(loc[:-1])
            known = _field_names(owner) if owner is not None else []
            message = f"unknown field '{name}'{_suggest(name, known)}"
            if known:
                message += f"; known: {', '.join(sorted(known))}"
            out.append(doc.issue(loc, message, at_key=True))
            continue
        out.append(doc.issue(loc, _message(err)))
    return out


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        got = err.get("input")
        if pattern.startswith("^[a-z0-9]+(?:-"):
            return f"must be kebab-case (lowercase letters, digits and single hyphens), got {got!r}"
        if pattern.startswith("^[a-z_]"):
            return f"must be a snake_case name (lowercase letters, digits, _), got {got!r}"
        return f"{got!r} is not in the expected form"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {n} items"
    if kind in ("string_too_long", "too_long"):
        return f"is too long (at most {ctx.get('max_length')})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    msg = str(err["msg"])
    return msg.replace("Input should be", "must be").replace("Value error, ", "")


def _valid_steps(data: Any) -> list[tuple[int, Step]]:
    """The steps that validate on their own, so cross-checks run even when pass 1 failed."""
    raw = data.get("steps") if isinstance(data, dict) else None
    out = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((index, Step.model_validate(item)))
        except ValidationError as exc:
            # Drop the broken fields (already reported) so the rest of the step is still checked.
            if not isinstance(item, dict):
                continue
            broken = {e["loc"][0] for e in exc.errors() if e["loc"]}
            if broken & {"id", "uses"}:
                continue
            try:
                partial = Step.model_validate({k: v for k, v in item.items() if k not in broken})
                # marks the dropped fields as given (field names are strings; an int key names no field)
                partial.__pydantic_fields_set__.update(k for k in broken if isinstance(k, str))
                out.append((index, partial))
            except ValidationError:
                continue
    return out


class _Context:
    def __init__(
        self,
        doc: Document,
        steps: list[tuple[int, Step]],
        playbook: Playbook | None,
        kinds: Mapping[str, KindShape] | None,
        roster: Roster | None,
        templates_dir: Path | None,
    ) -> None:
        self.doc = doc
        self.steps = steps
        self.kinds = kinds
        self.roster = roster
        self.templates_dir = templates_dir
        data = doc.data if isinstance(doc.data, dict) else {}
        roles = playbook.roles if playbook else data.get("roles")
        self.roles = [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
        inputs = playbook.inputs if playbook else data.get("inputs")
        self.inputs = set(inputs) if isinstance(inputs, dict) else set()
        self.issues: list[SpecIssue] = []

    def error(self, loc: Loc, message: str, *, at_key: bool = False) -> None:
        self.issues.append(self.doc.issue(loc, message, at_key=at_key))

    def cross_check(self) -> list[SpecIssue]:
        self._unique_ids()
        self._needs_and_cycles()
        self._roles_held()
        for index, step in self.steps:
            loc: Loc = ("steps", index)
            kind = self._kind(loc, step)
            self._with_params(loc, step, kind)
            self._condition(loc, step, index)
            self._signoff(loc, step, index, kind)
        return self.issues

    # -- identity and order ------------------------------------------------------------
    def _unique_ids(self) -> None:
        first: dict[str, int] = {}
        for index, step in self.steps:
            if step.id in first:
                self.error(
                    ("steps", index, "id"), f"duplicate step id '{step.id}' (first used by steps[{first[step.id]}])"
                )
            else:
                first[step.id] = index

    def _position_of(self) -> dict[str, int]:
        order: dict[str, int] = {}
        for index, step in self.steps:
            order.setdefault(step.id, index)
        return order

    def _needs_and_cycles(self) -> None:
        order = self._position_of()
        graph = {step.id: list(step.needs) for _, step in self.steps}
        for index, step in self.steps:
            for n, need in enumerate(step.needs):
                loc = ("steps", index, "needs", n)
                if need == step.id:
                    self.error(loc, "a step cannot need itself")
                elif need not in order:
                    self.error(loc, f"needs '{need}', which is not a step of this playbook" + _suggest(need, order))
                elif order[need] > index:
                    cycle = _cycle_through(graph, step.id)
                    if cycle:
                        self.error(loc, "needs form a cycle: " + " -> ".join(cycle))
                    else:
                        self.error(
                            loc,
                            f"needs '{need}', which comes later (steps[{order[need]}]); "
                            "a step can only need earlier steps",
                        )

    # -- kinds and their parameters ------------------------------------------------------
    def _kind(self, loc: Loc, step: Step) -> KindShape | None:
        if self.kinds is None:
            return None
        kind = self.kinds.get(step.uses)
        if kind is None:
            known = ", ".join(sorted(self.kinds))
            self.error(
                loc + ("uses",), f"unknown step kind '{step.uses}'{_suggest(step.uses, self.kinds)} (known: {known})"
            )
        return kind

    def _with_params(self, loc: Loc, step: Step, kind: KindShape | None) -> None:
        templated: set[str] = set()
        for key, value in step.with_.items():
            for path, text in _strings(value, (key,)):
                if expressions.is_templated(text):
                    templated.add(key)
                    self._template_refs(loc + ("with",) + path, text, int(loc[1]))
        if kind is None:
            return
        # A templated value is only known at run time: validate the rest, and let the
        # template stand in as text so that model-level rules still see the key as given.
        try:
            params = kind.params.model_validate(step.with_)
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not (e["loc"] and e["loc"][0] in templated)]
            if errors:
                rebuilt = ValidationError.from_exception_data(exc.title, [_init_details(e) for e in errors])
                self.issues.extend(pydantic_issues(self.doc, rebuilt, loc + ("with",), model=kind.params))
            return
        self._template_files(loc, kind.params, params)

    def _template_files(self, loc: Loc, model: type[BaseModel], params: BaseModel) -> None:
        if self.templates_dir is None:
            return
        for name, info in model.model_fields.items():
            if _marked(info.annotation, info.metadata):
                value = getattr(params, name)
                if value and not (self.templates_dir / value).is_file():
                    self.error(
                        loc + ("with", info.alias or name),
                        f"template '{value}' does not exist under {self.templates_dir}/",
                    )

    # -- expressions -----------------------------------------------------------------------
    def _condition(self, loc: Loc, step: Step, index: int) -> None:
        if step.when is None:
            return
        try:
            expressions.compile_condition(step.when)
            refs = expressions.references(step.when, expression=True)
        except jinja2.TemplateSyntaxError as exc:
            self.error(loc + ("when",), f"condition does not compile: {exc.message}")
            return
        self._check_refs(loc + ("when",), refs, index)

    def _template_refs(self, loc: Loc, text: str, index: int) -> None:
        try:
            refs = expressions.references(text, expression=False)
            expressions.environment().from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            self.error(loc, f"template does not compile: {exc.message}")
            return
        self._check_refs(loc, refs, index)

    def _check_refs(self, loc: Loc, refs: list[tuple[str, str]], index: int) -> None:
        order: dict[str, int] = {}
        for i, step in self.steps:
            order.setdefault(step.id, i)
            order.setdefault(step.id.replace("-", "_"), i)
        for root, name in refs:
            if root == "inputs" and name not in self.inputs:
                self.error(loc, f"uses inputs.{name}, which is not a declared input{_suggest(name, self.inputs)}")
            elif root == "steps":
                if name not in order:
                    self.error(loc, f"uses steps.{name}, which is not a step of this playbook{_suggest(name, order)}")
                elif order[name] >= index:
                    self.error(loc, f"uses steps.{name}, which has not run yet at this point")

    # -- sign-offs -------------------------------------------------------------------------
    def _roles_held(self) -> None:
        if self.roster is None:
            return
        for n, role in enumerate(self.roles):
            if not self.roster.holders([role]):
                self.error(("roles", n), f"no one in the roster holds the role '{role}'")

    def _signoff(self, loc: Loc, step: Step, index: int, kind: KindShape | None) -> None:
        gate = step.signoff
        if gate is None:
            if kind is not None and kind.human and "signoff" not in step.model_fields_set:
                self.error(
                    loc, f"a '{step.uses}' step needs a signoff naming who answers it (signoff: {{roles: [...]}})"
                )
            return
        loc = loc + ("signoff",)
        for n, role in enumerate(gate.roles):
            if role not in self.roles:
                self.error(
                    loc + ("roles", n), f"unknown role '{role}'; declare it under roles:{_suggest(role, self.roles)}"
                )
        for n, name in enumerate(gate.escalate_to):
            known_person = self.roster is not None and self.roster.person(name) is not None
            if name not in self.roles and not known_person:
                what = "a role of this playbook or a person in the roster" if self.roster else "a role of this playbook"
                self.error(loc + ("escalate_to", n), f"'{name}' is not {what}")
        if self.roster is not None and set(gate.roles) <= set(self.roles):
            holders = self.roster.holders(gate.roles)
            if gate.quorum > len(holders):
                names = ", ".join(p.id for p in holders) or "nobody"
                self.error(
                    loc + ("quorum",),
                    f"quorum {gate.quorum} but only {len(holders)} people in the roster "
                    f"hold {' or '.join(gate.roles)} ({names})",
                )
        for name in gate.input:
            if name in RESERVED_DECISION_FIELDS:
                self.error(
                    loc + ("input", name),
                    f"'{name}' is reserved for the decision itself; choose another name",
                    at_key=True,
                )
        gate_fields = kind.gate_fields if kind is not None else None
        if kind is not None and gate_fields is not None:
            try:
                params = kind.params.model_validate({k: v for k, v in step.with_.items()})
                for name in gate_fields(params):
                    if name in gate.input:
                        self.error(
                            loc + ("input", name),
                            f"'{name}' is already provided by the '{step.uses}' step",
                            at_key=True,
                        )
            except ValidationError:
                pass  # already reported on `with`
        if gate.prompt:
            self._template_refs(loc + ("prompt",), gate.prompt, index + 1)  # the gate may show its own step


def _strings(value: Any, path: Loc) -> list[tuple[Loc, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _strings(v, path + (i,))]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _strings(v, path + (k,))]
    return []


def _marked(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field is a TemplatePath, also inside `TemplatePath | None`."""
    if any(isinstance(m, TemplateRef) for m in metadata):
        return True
    if any(isinstance(m, TemplateRef) for m in getattr(annotation, "__metadata__", ())):
        return True
    return any(_marked(arg, []) for arg in typing.get_args(annotation))


def _init_details(err: ErrorDetails) -> InitErrorDetails:
    """An error read back from a ValidationError, in the shape that rebuilds one (its message is
    regenerated from type and ctx, exactly as when the ErrorDetails itself is passed)."""
    details = InitErrorDetails(type=err["type"], loc=err["loc"], input=err["input"])
    if "ctx" in err:
        details["ctx"] = err["ctx"]
    return details


def _suggest(name: str, known: Iterable[str]) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def _cycle_through(graph: Mapping[str, list[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start through `needs`, if there is one."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return path + [start]
            if nxt not in seen and nxt in graph:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None
