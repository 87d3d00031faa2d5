"""Rule packs: one YAML file per language (rules/en.yaml, rules/nl.yaml), validated on load.

Every problem in a pack is reported at once, each with the file, the line and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from runbook.checks.matchers import BUILTINS, compile_patterns, compile_words
from runbook.errors import InvalidSpec

RULES_DIR = Path(__file__).parent / "rules"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=80)]
    family: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]*$")]
    severity: Literal["block", "warn"]
    message: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    # An empty list would match nothing and leave the rule with no matcher at all: refused.
    words: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)] | None = None
    patterns: Annotated[list[str], Field(min_length=1)] | None = None
    check: str | None = None
    options: dict[str, Any] = {}
    accounts: Literal["brand", "personal", "any"] = "any"
    contexts: Annotated[list[Literal["publish", "thaw"]], Field(min_length=1)] = ["publish"]

    @model_validator(mode="after")
    def _one_matcher(self) -> Rule:
        given = [name for name in ("words", "patterns", "check") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of words, patterns, check (got {', '.join(given) or 'none'})")
        if self.check is not None and self.check not in BUILTINS:
            raise ValueError(f"unknown check {self.check!r}; known: {', '.join(sorted(BUILTINS))}")
        for pattern in self.patterns or []:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from None
        return self


class SpellingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dictionary: str
    ignore: list[str] = []


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    regex: re.Pattern[str] | None  # words and patterns become one regex

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class Pack:
    language: str
    path: Path
    spelling: SpellingSpec | None
    rules: tuple[CompiledRule, ...]


class PackError(InvalidSpec, ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _rule_lines(text: str) -> list[int]:
    """1-based line of each entry of the top-level `rules` list (for error messages)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_pack(text: str, path: Path) -> Pack:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PackError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise PackError([f"{path}: expected a mapping with language and rules"])
    problems: list[str] = []
    unknown = set(data) - {"language", "spelling", "rules"}
    if unknown:
        problems.append(f"{path}: unknown keys {sorted(unknown)}")
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        problems.append(f"{path}: language must be a two-letter code, got {language!r}")
    spelling = None
    if data.get("spelling") is not None:
        try:
            spelling = SpellingSpec.model_validate(data["spelling"])
        except ValidationError as exc:
            problems.append(f"{path}: spelling: {exc.errors()[0]['msg']}")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(f"{path}: rules must be a non-empty list")
        raw_rules = []
    lines = _rule_lines(text)
    compiled: list[CompiledRule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        where = f"{path}:{lines[index] if index < len(lines) else '?'}: rules[{index}]"
        if isinstance(raw, dict) and raw.get("id"):
            where += f" ({raw['id']})"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"])
                problems.append(f"{where}: {field + ': ' if field else ''}{error['msg']}")
            continue
        if rule.id in seen:
            problems.append(f"{where}: duplicate rule id {rule.id}")
        seen.add(rule.id)
        regex = compile_words(rule.words) if rule.words else compile_patterns(rule.patterns) if rule.patterns else None
        compiled.append(CompiledRule(rule=rule, regex=regex))
    if problems or not isinstance(language, str):  # a language that is not a str is among the problems
        raise PackError(problems)
    return Pack(language=language, path=path, spelling=spelling, rules=tuple(compiled))


@lru_cache(maxsize=16)
def load_pack(path: Path) -> Pack:
    return parse_pack(path.read_text(encoding="utf-8"), path)


def pack_for(language: str, rules_dir: Path | None = None) -> Pack:
    folder = rules_dir or RULES_DIR
    path = folder / f"{language}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "platforms")
        raise PackError([f"no rule pack for language {language!r} in {folder} (have: {', '.join(known)})"])
    return load_pack(path)
