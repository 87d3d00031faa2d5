"""Crisis-response runbook orchestrator: playbooks, sign-offs and an audit trail for brand crises.

The names below are the supported public API; a third-party step kind imports only from here
(`docs/plugins.md`). They load lazily, so `import runbook` stays cheap for `runbook check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.lazy import exports

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "ChannelFailure": "runbook.errors",
    "Conflict": "runbook.errors",
    "ConfigurationError": "runbook.errors",
    "InvalidSpec": "runbook.errors",
    "NoParams": "runbook.steps.base",
    "NotAuthorised": "runbook.errors",
    "NotFound": "runbook.errors",
    "Outputs": "runbook.steps.base",
    "Params": "runbook.steps.base",
    "Playbook": "runbook.spec.models",
    "Roster": "runbook.spec.roster",
    "RunbookError": "runbook.errors",
    "SpecError": "runbook.spec.errors",
    "SpecIssue": "runbook.spec.errors",
    "StepContext": "runbook.steps.base",
    "StepKind": "runbook.steps.base",
    "StepServices": "runbook.steps.base",
    "load_kinds": "runbook.steps.registry",
    "load_playbook": "runbook.spec.loader",
    "load_roster": "runbook.spec.loader",
}

__all__ = [
    "ChannelFailure",
    "ConfigurationError",
    "Conflict",
    "InvalidSpec",
    "NoParams",
    "NotAuthorised",
    "NotFound",
    "Outputs",
    "Params",
    "Playbook",
    "Roster",
    "RunbookError",
    "SpecError",
    "SpecIssue",
    "StepContext",
    "StepKind",
    "StepServices",
    "__version__",
    "load_kinds",
    "load_playbook",
    "load_roster",
]

if TYPE_CHECKING:
    from runbook.errors import (
        ChannelFailure,
        ConfigurationError,
        Conflict,
        InvalidSpec,
        NotAuthorised,
        NotFound,
        RunbookError,
    )
    from runbook.spec.errors import SpecError, SpecIssue
    from runbook.spec.loader import load_playbook, load_roster
    from runbook.spec.models import Playbook
    from runbook.spec.roster import Roster
    from runbook.steps.base import NoParams, Outputs, Params, StepContext, StepKind, StepServices
    from runbook.steps.registry import load_kinds


__getattr__ = exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
