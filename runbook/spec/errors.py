"""Spec errors: every problem found in a file, each as `FILE:LINE:COLUMN: PATH: MESSAGE`.

SpecError (ValueError)
  .errors: list[SpecIssue]   one per problem, in file order
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from runbook.errors import InvalidSpec


@dataclass(frozen=True, order=True)
class SpecIssue:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SpecError(InvalidSpec, ValueError):
    def __init__(self, errors: Iterable[SpecIssue]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


def format_path(loc: Iterable[str | int]) -> str:
    """('steps', 2, 'signoff', 'quorum') -> 'steps[2].signoff.quorum'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
