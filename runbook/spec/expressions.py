"""`when:` conditions, `{{ ... }}` parameters and prompts: compiled and evaluated in Jinja2's sandbox.

Step ids are kebab-case, which Jinja would read as subtraction, so every step is also reachable
under its id with `_` for `-` (`steps.delete_decision.outputs.choice`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.S)
MAX_RENDERED = 20_000


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def expression_context(
    *,
    inputs: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]],
    incident: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables conditions and templates see: inputs, steps (with `_` aliases), incident."""
    aliased: dict[str, Any] = {}
    for step_id, value in steps.items():
        aliased[step_id] = value
        aliased[step_id.replace("-", "_")] = value
    return {"inputs": dict(inputs), "steps": aliased, "incident": dict(incident or {})}


@lru_cache(maxsize=512)
def compile_condition(expr: str):
    """Compile a `when:` expression; raises jinja2.TemplateSyntaxError when it does not parse."""
    return environment().compile_expression(expr, undefined_to_none=False)


def evaluate_when(expr: str, ctx: Mapping[str, Any]) -> bool:
    return bool(compile_condition(expr)(**ctx))


def whole_expression(value: str) -> str | None:
    """The inner expression when `value` is exactly one `{{ ... }}`, else None."""
    match = _WHOLE_EXPRESSION.match(value)
    if match and "{{" not in match.group("expr") and "}}" not in match.group("expr"):
        return match.group("expr").strip()
    return None


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_text(template: str, ctx: Mapping[str, Any]) -> str:
    out = environment().from_string(template).render(**ctx)
    if len(out) > MAX_RENDERED:
        raise ValueError(f"rendered text is {len(out)} characters, more than {MAX_RENDERED}")
    return out


def render_value(value: Any, ctx: Mapping[str, Any]) -> Any:
    """Render one `with:` value: a whole `{{ expr }}` keeps its native type; lists and maps recurse."""
    if isinstance(value, str) and is_templated(value):
        inner = whole_expression(value)
        if inner is not None:
            return compile_condition(inner)(**ctx)
        return render_text(value, ctx)
    if isinstance(value, list):
        return [render_value(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, ctx) for k, v in value.items()}
    return value


def render_params(params: Mapping[str, Any], ctx: Mapping[str, Any]) -> dict[str, Any]:
    return {key: render_value(value, ctx) for key, value in params.items()}


def references(source: str, *, expression: bool) -> list[tuple[str, str]]:
    """The `inputs.X` and `steps.X` names a condition or template uses, as (root, name) pairs.

    Raises jinja2.TemplateSyntaxError when the source does not parse.
    """
    env = environment()
    if expression:
        tree = env.parse("{{ (" + source + ") }}")
    else:
        tree = env.parse(source)
    found: list[tuple[str, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if isinstance(target, nodes.Name) and target.name in ("inputs", "steps"):
            if isinstance(node, nodes.Getattr):
                found.append((target.name, node.attr))
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.append((target.name, node.arg.value))
    return found
