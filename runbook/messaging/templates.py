"""Message templates: Jinja2's immutable sandbox, StrictUndefined, escaping chosen per target
(plain text for social networks; Slack mrkdwn escapes only & < >), a size limit on the output,
and errors that name the template, the line and the missing variable.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from runbook.messaging.errors import OutputTooLarge, TemplateProblem

Target = Literal["plain", "slack"]
# Social posts are short, but a statement for a blog-like network may be long; a runaway loop is not.
MAX_OUTPUT: dict[str, int] = {"plain": 20_000, "slack": 40_000}

_UNDEFINED = re.compile(
    r"'(?P<name>[^']+)' is undefined|has no attribute '(?P<attr>[^']+)'|"
    r"no element for key '?(?P<key>[^']+)'?"
)


def slack_escape(value: Any) -> str:
    # Slack mrkdwn: only these three are control characters; escaping more would show "&quot;".
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(value: Any) -> Any:
    return "" if value is None else value


def vary(key: Any, *options: Any) -> Any:
    """One of `options`, chosen by a stable hash of `key`: phrasing varies per person, yet a
    re-render of the same person's reply (a retry, a resume) gives the same text."""
    if not options:
        return ""
    if len(options) == 1 and isinstance(options[0], (list, tuple)):
        options = tuple(options[0])
    return options[zlib.crc32(str(key).encode("utf-8")) % len(options)]


def join_words(items: Sequence[Any], last: str = "and") -> str:
    items = [str(i) for i in items if str(i).strip()]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def clip(text: Any, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` characters, cut at a word boundary."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 1)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(",;:-– ") + ellipsis


def tidy(text: str) -> str:
    """Trailing spaces off, runs of blank lines down to one, no space before punctuation."""
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return re.sub(r" +([,.;:!?])", r"\1", out)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Also bounds `*` and `**`: `'x' * 10**10` would exhaust memory before any output limit."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise SecurityError("exponent larger than 100")
        if operator == "*":
            # `'x' * n` or `n * 'x'`: the count is whichever side is the int.
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > 100_000:
                raise SecurityError("repetition longer than 100,000")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=32)
def environment(root: str | None, target: Target = "plain") -> _Sandbox:
    if target not in MAX_OUTPUT:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(MAX_OUTPUT)}")
    env = _Sandbox(
        loader=FileSystemLoader(root) if root else None,
        undefined=StrictUndefined,
        autoescape=False,  # HTML escaping is wrong for both targets; finalize escapes what Slack needs
        finalize=slack_escape if target == "slack" else _plain,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(vary=vary, join_words=join_words, clip=clip)
    env.filters.update(clip=clip)
    return env


def _problem(exc: Exception, name: str) -> TemplateProblem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateProblem(f"does not compile: {exc.message}", template=exc.name or name, line=exc.lineno)
    line = _template_line(exc, name)
    if isinstance(exc, jinja2.UndefinedError):
        match = _UNDEFINED.search(str(exc))
        variable = next((g for g in match.groups() if g), None) if match else None
        what = f"variable '{variable}' is not defined" if variable else str(exc)
        return TemplateProblem(f"{what} ({exc})", template=name, line=line, variable=variable)
    if isinstance(exc, SecurityError):
        return TemplateProblem(f"not allowed in a template: {exc}", template=name, line=line)
    return TemplateProblem(f"{type(exc).__name__}: {exc}", template=name, line=line)


def _template_line(exc: BaseException, name: str) -> int | None:
    """Jinja rewrites tracebacks so a template's frames carry its file name and line."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == "<template>" or filename.endswith(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class Templates:
    """Renders templates under `root` (or given as text) for one target."""

    def __init__(self, root: Path | str | None = None, *, target: Target = "plain", max_chars: int | None = None):
        self.root = str(Path(root).resolve()) if root is not None else None
        self.target = target
        self.max_chars = max_chars or MAX_OUTPUT[target]
        self.env = environment(self.root, target)

    def get(self, name: str) -> jinja2.Template:
        if self.root is None:
            raise TemplateProblem("no templates folder configured", template=name)
        try:
            return self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateProblem(f"no such template under {self.root}/", template=name) from None
        except jinja2.TemplateSyntaxError as exc:
            raise _problem(exc, name) from None

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self.render_template(self.get(name), context, name=name)

    def render_string(self, source: str, context: Mapping[str, Any], *, name: str = "<string>") -> str:
        try:
            template = self.env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise _problem(exc, name) from None
        return self.render_template(template, context, name=name)

    def render_template(self, template: jinja2.Template, context: Mapping[str, Any], *, name: str) -> str:
        try:
            out = template.render(**context)
        except Exception as exc:  # noqa: BLE001 - every template failure becomes one positioned error
            raise _problem(exc, name) from None
        out = tidy(out)
        if len(out) > self.max_chars:
            raise OutputTooLarge(
                f"rendered {len(out)} characters, more than the {self.max_chars} allowed", template=name
            )
        return out
