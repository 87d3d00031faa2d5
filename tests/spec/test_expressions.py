"""Conditions and `{{ }}` parameters evaluate in the sandbox with native types and step aliases."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from runbook.spec.expressions import evaluate_when, expression_context, render_params, render_text

CTX = expression_context(
    inputs={"accounts": ["brand", "support"], "summary": "Offensive reply"},
    steps={"delete-decision": {"outputs": {"choice": "delete"}, "status": "completed"},
           "assess": {"outputs": {"choice": "high", "involves_staff": False}, "status": "completed"}},
    incident={"slug": "2026-11-25-offensive-reply"},
)


def test_conditions_see_outputs_and_kebab_aliases():
    assert evaluate_when("steps.assess.outputs.choice in ['high', 'critical']", CTX) is True
    assert evaluate_when("steps.delete_decision.outputs.choice == 'delete'", CTX) is True
    assert evaluate_when("steps.assess.outputs.involves_staff", CTX) is False


def test_whole_expression_keeps_native_type_and_text_is_rendered():
    rendered = render_params({"accounts": "{{ inputs.accounts }}", "note": "About {{ inputs.summary }}",
                              "n": 3, "nested": ["{{ incident.slug }}"]}, CTX)
    assert rendered == {"accounts": ["brand", "support"], "note": "About Offensive reply", "n": 3,
                        "nested": ["2026-11-25-offensive-reply"]}


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
