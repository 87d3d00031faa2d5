"""Conditions and `{{ }}` parameters evaluate in the sandbox with native types and step aliases."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from runbook.spec.expressions import evaluate_when, expression_context, render_params, render_text

CTX = expression_context(
    inputs={"accounts": ["brand", "support"], "summary": "Offensive reply"},
    steps={
        "delete-decision": {"outputs": {"choice": "delete"}, "status": "completed"},
        "assess": {"outputs": {"choice": "high", "involves_staff": False}, "status": "completed"},
    },
    incident={"slug": "2026-11-25-offensive-reply"},
)


def test_conditions_see_outputs_and_kebab_aliases():
    assert evaluate_when("steps.assess.outputs.choice in ['high', 'critical']", CTX) is True
    assert evaluate_when("steps.delete_decision.outputs.choice == 'delete'", CTX) is True
    assert evaluate_when("steps.assess.outputs.involves_staff", CTX) is False


def test_whole_expression_keeps_native_type_and_text_is_rendered():
    rendered = render_params(
        {
            "accounts": "{{ inputs.accounts }}",
            "note": "About {{ inputs.summary }}",
            "n": 3,
            "nested": ["{{ incident.slug }}"],
        },
        CTX,
    )
    assert rendered == {
        "accounts": ["brand", "support"],
        "note": "About Offensive reply",
        "n": 3,
        "nested": ["2026-11-25-offensive-reply"],
    }


def test_undefined_names_are_errors_not_blanks():
    with pytest.raises(UndefinedError):
        render_text("{{ inputs.nope }}", CTX)


def test_sandbox_blocks_attribute_escapes():
    with pytest.raises(SecurityError):
        render_text("{{ ''.__class__.__mro__ }}", CTX)
    with pytest.raises(SecurityError):
        render_text("{{ inputs.accounts.append('x') }}", CTX)


def test_rendered_size_is_limited():
    with pytest.raises(ValueError, match="more than"):
        render_text("{{ 'x' * 50000 }}", CTX)


def test_repetition_power_and_loops_are_bounded_at_run_time_with_the_limit_named():
    from runbook.spec.expressions import MAX_LOOP_ITERATIONS, TemplateLimitError

    # Values from inputs cannot be seen by `check`; the run-time bound stops them before any work.
    ctx = expression_context(inputs={"n": 10**9, "big": 100_000, "text": "x"}, steps={})
    with pytest.raises(TemplateLimitError, match="the limit is 100,000"):
        render_text("{{ inputs.text * inputs.n }}", ctx)
    with pytest.raises(TemplateLimitError, match="limit"):
        render_text("{{ 10 ** inputs.n }}", ctx)
    with pytest.raises(TemplateLimitError, match=f"{MAX_LOOP_ITERATIONS:,}"):
        render_text("{% for i in range(inputs.big) %}{% for j in range(inputs.big) %}{% endfor %}{% endfor %}", ctx)
    # Ordinary arithmetic and small loops are untouched.
    assert render_text("{{ 3 * 4 }} {{ 2 ** 10 }} {% for i in range(3) %}{{ i }}{% endfor %}", ctx) == "12 1024 012"
    assert evaluate_when("2 ** 3 == 8", ctx) is True


def test_constant_bombs_are_refused_at_check_time_without_being_computed():
    import jinja2

    from runbook.spec.expressions import references

    for source in ("{{ 'x' * 10**9 }}", "{{ 2 ** 100000 }}"):
        with pytest.raises(jinja2.TemplateSyntaxError, match="limit"):
            references(source, expression=False)
