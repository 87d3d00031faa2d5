"""Errors of the messaging package.

MessagingError
├── TemplateProblem      a template does not compile or render (names template, line, variable)
│   └── OutputTooLarge   the rendered text is longer than the target allows
├── StatementBlocked     a statement (or an approver's edit) has blocking doctrine findings
└── ReviewError          an approver's per-reply lines cannot be read (names the line)
"""

from __future__ import annotations

from runbook.errors import RunbookError


class MessagingError(RunbookError, RuntimeError):
    pass


class TemplateProblem(MessagingError):
    def __init__(self, message: str, *, template: str, line: int | None = None, variable: str | None = None):
        self.template = template
        self.line = line
        self.variable = variable
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {message}")


class OutputTooLarge(TemplateProblem):
    pass


class StatementBlocked(MessagingError):
    def __init__(self, message: str, findings: list[dict]):
        self.findings = findings
        super().__init__(message)


class ReviewError(MessagingError, ValueError):
    pass
