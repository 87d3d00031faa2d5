"""What a check looks at (`Draft`, `MediaRef`) and what it says (`Finding`, `CheckResult`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["block", "warn"]


@dataclass(frozen=True)
class MediaRef:
    name: str
    sha256: str | None  # None when the file could not be read
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Draft:
    """A post as the checks see it."""

    account: str
    platform: str
    text: str
    media: tuple[MediaRef, ...] = ()
    author: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class Finding:
    rule: str
    family: str
    severity: Severity
    message: str
    match: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # every field is a plain str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule=data["rule"],
            family=data.get("family", ""),
            severity=data["severity"],
            message=data.get("message", ""),
            match=data.get("match", ""),
        )

    def __str__(self) -> str:
        return f"{self.severity.upper():5} {self.rule}: {self.message}"


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "link checks skipped"

    @property
    def blocks(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "block"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn"]

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    def rules(self, severity: Severity | None = None) -> set[str]:
        return {f.rule for f in self.findings if severity is None or f.severity == severity}

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.findings]
