"""`when:` conditions, `{{ ... }}` parameters and prompts: compiled and evaluated in Jinja2's sandbox.

Step ids are kebab-case, which Jinja would read as subtraction, so every step is also reachable
under its id with `_` for `-` (`steps.delete_decision.outputs.choice`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.S)
MAX_RENDERED = 20_000
# Resource limits: a playbook is data from whoever may edit the repository, and `check` and the
# engine must stay alive whatever it says. Each bound is named in the error it raises.
MAX_REPEAT = 100_000  # characters or items a `*` repetition may produce
MAX_INT_BITS = 4_096  # an integer product or power larger than this is refused (2**4096 ~ 1e1233)
MAX_EXPONENT = 1_000
MAX_LOOP_ITERATIONS = 10_000  # every `{% for %}` of one render together
_BOUNDED = "__runbook_bounded"


class TemplateLimitError(SecurityError):
    """A template went over one of the resource limits above (at run time)."""


def _limit_problem(operator: str, left: Any, right: Any) -> str | None:
    """Why `left <operator> right` would exceed a limit, or None; checks sizes, never computes."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and not isinstance(times, bool):
                if len(seq) * max(times, 0) > MAX_REPEAT:
                    return (
                        f"repetition would make {len(seq) * times:,} characters or items; the limit is {MAX_REPEAT:,}"
                    )
                return None
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS
        ):
            return f"the product would exceed {MAX_INT_BITS} bits; the limit is {MAX_INT_BITS} bits"
    if operator == "**" and isinstance(left, int) and isinstance(right, (int, float)):
        if abs(right) > MAX_EXPONENT and abs(left) > 1:
            return f"exponent {right:,} is larger than the limit of {MAX_EXPONENT:,}"
        if isinstance(right, int) and right > 0 and abs(left).bit_length() * right > MAX_INT_BITS:
            return f"the power would exceed {MAX_INT_BITS} bits; the limit is {MAX_INT_BITS} bits"
    return None


def _wrap_loops(tree: nodes.Template) -> nodes.Template:
    # Every loop's iterable goes through a counter shared by the whole render (see _bounded).
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name(_BOUNDED, "load"), [loop.iter], [], None, None, lineno=loop.lineno)
    return tree


@pass_context
def _bounded(context: Any, iterable: Any) -> Any:
    # The render's Context object is shared by nested loops, so it carries the count.
    for item in iterable:
        count = context.__dict__.get("_runbook_iterations", 0) + 1
        if count > MAX_LOOP_ITERATIONS:
            raise TemplateLimitError(
                f"loops ran more than {MAX_LOOP_ITERATIONS:,} iterations in one template; that is the limit"
            )
        context.__dict__["_runbook_iterations"] = count
        yield item


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded `*`, `**` and loops. Intercepting the operators
    also stops Jinja from folding constants at compile time, which is where `'x' * 10**9`
    used to exhaust memory in `check`."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        problem = _limit_problem(operator, left, right)
        if problem:
            raise TemplateLimitError(problem)
        return super().call_binop(context, operator, left, right)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _wrap_loops(super()._parse(source, name, filename))


@lru_cache(maxsize=1)
def environment() -> LimitedSandbox:
    env = LimitedSandbox(undefined=StrictUndefined, autoescape=False)
    env.globals[_BOUNDED] = _bounded
    return env


def static_limits(tree: nodes.Node) -> list[str]:
    """Limit problems visible without running: operators whose both sides are constants."""
    problems = []
    for node in tree.find_all((nodes.Mul, nodes.Pow)):
        operands = []
        for side in (node.left, node.right):
            try:
                operands.append(_const(side))
            except _NotConstant:
                break
        else:
            problem = _limit_problem("*" if isinstance(node, nodes.Mul) else "**", *operands)
            if problem:
                problems.append(problem)
    iterations = _loop_iterations(tree)
    if iterations > MAX_LOOP_ITERATIONS:
        problems.append(
            f"nested loops over constant ranges run {iterations:,} iterations; the limit is {MAX_LOOP_ITERATIONS:,}"
        )
    return problems


def _range_length(node: nodes.Node) -> int:
    """Iterations of `range(<constants>)` (unknown iterables count as one)."""
    if isinstance(node, nodes.Call) and node.args and not node.kwargs:
        node = node.args[0] if isinstance(node.node, nodes.Name) and node.node.name == _BOUNDED else node
    if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"):
        return 1
    try:
        args = [_const(arg) for arg in node.args]
        return len(range(*args)) if all(isinstance(a, int) for a in args) else 1
    except (_NotConstant, TypeError, ValueError):
        return 1


def _loop_iterations(node: nodes.Node) -> int:
    """The largest product of constant range lengths along one nesting of loops."""
    inner = max((_loop_iterations(child) for child in node.iter_child_nodes()), default=1)
    if isinstance(node, nodes.For):
        return _range_length(node.iter) * inner
    return inner


class _NotConstant(Exception):
    pass


def _const(node: nodes.Node) -> Any:
    """The value of a constant subtree, computed under the limits (never folding past them)."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.Mul, nodes.Pow)):
        left, right = _const(node.left), _const(node.right)
        operator = "*" if isinstance(node, nodes.Mul) else "**"
        if _limit_problem(operator, left, right):
            raise _NotConstant  # reported on this node itself
        try:
            return left * right if operator == "*" else left**right
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise _NotConstant from exc
    if isinstance(node, nodes.Neg):
        value = _const(node.node)
        if isinstance(value, (int, float)):
            return -value
    raise _NotConstant


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
def compile_condition(expr: str) -> TemplateExpression:
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

    Raises jinja2.TemplateSyntaxError when the source does not parse, or when constants in it
    already go over a resource limit (`'x' * 10**9`).
    """
    env = environment()
    if expression:
        tree = env.parse("{{ (" + source + ") }}")
    else:
        tree = env.parse(source)
    problems = static_limits(tree)
    if problems:
        raise TemplateSyntaxError(f"over a resource limit: {problems[0]}", lineno=1)
    found: list[tuple[str, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            target, name = node.node, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            target, name = node.node, node.arg.value
        else:
            continue
        if isinstance(target, nodes.Name) and target.name in ("inputs", "steps"):
            found.append((target.name, name))
    return found
