"""Reads a YAML file safely into plain data plus the line/column of every key and value.

Guards against what a hostile or broken file can do: non-UTF-8 bytes, huge files, tabs,
duplicate keys, alias bombs, non-mapping documents. Every failure is a SpecIssue, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbook.spec.errors import SpecError, SpecIssue, format_path

MAX_BYTES = 1_000_000
MAX_NODES = 100_000  # after expanding aliases: a billion-laughs file stops here
Loc = tuple[str | int, ...]

_Loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
try:  # the C loader is ~10x faster and keeps marks
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader


@dataclass
class Document:
    file: str
    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)  # loc -> (line, col) of the value
    issues: list[SpecIssue] = field(default_factory=list)  # problems found while reading (duplicate keys)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)  # loc -> (line, col) of the key

    def issue(self, loc: Loc, message: str, *, at_key: bool = False) -> SpecIssue:
        line, col = self.position(loc, at_key=at_key)
        return SpecIssue(self.file, line, col, format_path(loc), message)

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """The closest known position: the key or value itself, else its nearest ancestor."""
        probe = tuple(loc)
        if at_key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.values:
                return self.values[probe]
            if probe in self.keys:
                return self.keys[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


def read_document(path: Path, *, display: str | None = None) -> Document:
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([SpecIssue(name, 1, 1, "", f"cannot read file: {exc.strerror or exc}")]) from None
    return parse_document(raw, name)


def parse_document(raw: bytes, name: str) -> Document:
    def fail(line: int, col: int, message: str) -> SpecError:
        return SpecError([SpecIssue(name, line, col, "", message)])

    if len(raw) > MAX_BYTES:
        raise fail(1, 1, f"file is {len(raw):,} bytes; a playbook may be at most {MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(line, col, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise fail(1, 1, "file is empty; a playbook is a mapping with id, title and steps")
    for number, text_line in enumerate(text.splitlines(), start=1):
        stripped = text_line.lstrip(" ")
        if stripped.startswith("\t"):
            raise fail(number, len(text_line) - len(stripped) + 1, "tab used for indentation; YAML needs spaces")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise fail(line, col, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise fail(1, 1, f"YAML error: {exc}") from None
    if len(nodes) != 1:
        raise fail(1, 1, f"file holds {len(nodes)} YAML documents; a playbook is exactly one")
    root = nodes[0]
    _check_size(root, name)
    doc = Document(file=name, data=None)
    doc.values[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    _walk(root, (), doc, doc.issues)  # duplicate keys are reported with the rest, not alone
    try:
        doc.data = _Loader(text).get_single_data()
    except yaml.YAMLError as exc:  # a scalar the constructor rejects (e.g. a bad timestamp)
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise fail(line, col, f"YAML value error: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc.data, dict):
        kind = "list" if isinstance(doc.data, list) else type(doc.data).__name__
        raise fail(1, 1, f"top level is a {kind}; a playbook is a mapping with id, title and steps")
    return doc


def _check_size(root: yaml.Node, name: str) -> None:
    """Counts nodes with aliases expanded, memoised per node so a bomb is measured, not built."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise SpecError(
                [SpecIssue(name, node.start_mark.line + 1, node.start_mark.column + 1, "", "recursive YAML alias")]
            )
        visiting.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        visiting.discard(key)
        sizes[key] = min(total, MAX_NODES + 1)
        if total > MAX_NODES:
            raise SpecError(
                [
                    SpecIssue(
                        name,
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                        "",
                        f"YAML expands to more than {MAX_NODES:,} values through aliases "
                        "(an alias bomb?); write the values out",
                    )
                ]
            )
        return sizes[key]

    size(root)


def _walk(node: yaml.Node, loc: Loc, doc: Document, errors: list[SpecIssue]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            refused: str | None = None
            if key_node.tag == "tag:yaml.org,2002:merge":
                refused = "merge keys (<<) are not supported; write the keys out"
            elif not isinstance(key_node, yaml.ScalarNode):
                refused = "a key must be a plain name"
            if refused is not None:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                errors.append(SpecIssue(doc.file, line, col, format_path(loc), refused))
                continue
            key = key_node.value
            key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            child = loc + (key,)
            if key in seen:
                first = seen[key]
                errors.append(
                    SpecIssue(
                        doc.file,
                        *key_pos,
                        format_path(child),
                        f"duplicate key (first defined at line {first[0]}, column {first[1]})",
                    )
                )
                continue
            seen[key] = key_pos
            doc.keys[child] = key_pos
            doc.values[child] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            _walk(value_node, child, doc, errors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = loc + (index,)
            doc.values[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, doc, errors)
