"""Exceptions of the audit package.

    LookupError
     └── IncidentNotFound    an id or slug that names no incident

Bad arguments (unknown channel, empty actor, details that are not JSON) raise ValueError.
"""

from __future__ import annotations

from runbook.errors import NotFound


class IncidentNotFound(NotFound, LookupError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no incident {ref!r}")
        self.ref = ref
