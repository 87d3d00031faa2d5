"""The template environment: the sandbox, StrictUndefined errors that name the template, line and
variable, escaping per target, the output limit; and the shipped templates for the three cases."""

from __future__ import annotations

import pytest

from runbook.messaging.brand import Brand
from runbook.messaging.context import base_context
from runbook.messaging.errors import OutputTooLarge, TemplateProblem
from runbook.messaging.statement import render_statement
from runbook.messaging.templates import Templates, vary
from tests.messaging.conftest import BRANDS, TEMPLATES, make_brand


def test_slack_escapes_only_amp_lt_gt_in_values_and_plain_escapes_nothing() -> None:
    context = {"said": "<@U123> & \"quotes\" 'apostrophes' *bold*"}
    slack = Templates(target="slack").render_string("<!here> {{ said }}", context)
    assert slack == "<!here> &lt;@U123&gt; &amp; \"quotes\" 'apostrophes' *bold*"  # the template's own markup stays
    plain = Templates(target="plain").render_string("{{ said }}", context)
    assert plain == context["said"]


def test_a_missing_variable_names_the_template_the_line_and_the_variable(tmp_path) -> None:
    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "broken.j2").write_text("@{{ person.handle }}\n\nThanks {{ person.nickname }}!\n")
    with pytest.raises(TemplateProblem) as caught:
        Templates(tmp_path).render("replies/broken.j2", {"person": {"handle": "ana"}})
    problem = caught.value
    assert (problem.template, problem.line, problem.variable) == ("replies/broken.j2", 3, "nickname")
    assert str(problem).startswith("replies/broken.j2:3: variable 'nickname' is not defined")
    with pytest.raises(TemplateProblem, match=r"^<string>:2: variable 'inputs' is not defined"):
        Templates().render_string("ok\n{{ inputs.summary }}", {})


def test_syntax_errors_and_unsafe_access_are_positioned(tmp_path) -> None:
    (tmp_path / "bad.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(TemplateProblem, match=r"^bad.j2:2: does not compile"):
        Templates(tmp_path).render("bad.j2", {})
    with pytest.raises(TemplateProblem, match="not allowed in a template"):
        Templates().render_string("{{ brand.__class__.__mro__ }}", {"brand": object()})
    for bomb in ("{{ 'x' * 10**9 }}", "{{ 10**9 * 'x' }}"):  # the count on either side of `*`
        with pytest.raises(TemplateProblem, match="not allowed in a template"):
            Templates().render_string(bomb, {})
    with pytest.raises(TemplateProblem, match="no such template"):
        Templates(tmp_path).render("missing.j2", {})


def test_the_output_is_limited_per_target() -> None:
    with pytest.raises(OutputTooLarge, match="more than the 500 allowed"):
        Templates(max_chars=500).render_string("{% for i in range(100) %}word {{ i }} {% endfor %}", {})


def test_vary_is_stable_per_key_and_varies_across_keys() -> None:
    picks = {vary(f"x:person{i}", "a", "b", "c") for i in range(30)}
    assert picks == {"a", "b", "c"}
    assert all(vary("x:ana", "a", "b", "c") == vary("x:ana", "a", "b", "c") for _ in range(5))


@pytest.mark.parametrize("case", sorted(BRANDS))
@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_shipped_statement_renders_with_variants_within_the_limits(case: str, language: str) -> None:
    brand: Brand = make_brand(case)
    context = base_context(
        incident={"id": "i", "slug": "s", "title": "t"},
        inputs={"hashtag": "#WhyIStayed"},
        steps={},
        brand=brand,
        language=language,
    )
    long_form, variants = render_statement(
        Templates(TEMPLATES), f"statements/{case}.{language}.j2", context, ["x", "facebook", "bluesky"]
    )
    assert len(variants["x"]) <= 280 and len(variants["bluesky"]) <= 300
    assert len(long_form) > len(variants["x"])  # the short form is not the long one cut off
    assert "#" not in long_form + variants["x"]  # never joins a hashtag again
    assert brand.profile.name in long_form
