"""The root of every error the product raises on purpose, and the exit code each family maps to.

    RunbookError
    ├── InvalidSpec         a playbook, roster, rule pack, input or command argument is wrong (exit 2)
    ├── NotAuthorised       the person may not do this (exit 3)
    ├── Conflict            the state forbids it now: already decided, busy, not awaiting (exit 4)
    ├── NotFound            no such incident, post, freeze or thaw (exit 5)
    ├── ChannelFailure      a social network or chat refused or failed a call (exit 6)
    └── ConfigurationError  settings, plugins or the environment are wrong (exit 7)

Each concrete error keeps its standard-library base too (ValueError, LookupError, ...), so code
that caught those before still does. Entry points print one line per error and exit with the
family's code; a traceback only with `--debug`.
"""

from __future__ import annotations

__all__ = [
    "ChannelFailure",
    "Conflict",
    "ConfigurationError",
    "InvalidSpec",
    "NotAuthorised",
    "NotFound",
    "RunbookError",
    "exit_code",
]


# One class per family on purpose (callers catch by class): the repeated shape is the tree above.
class RunbookError(Exception):
    """Something the product refuses or cannot do, explained in one sentence."""

    exit_code = 1


class InvalidSpec(RunbookError):
    exit_code = 2


class NotAuthorised(RunbookError):
    exit_code = 3


class Conflict(RunbookError):
    exit_code = 4


class NotFound(RunbookError):
    exit_code = 5


class ChannelFailure(RunbookError):
    exit_code = 6


class ConfigurationError(RunbookError):
    exit_code = 7


def exit_code(error: BaseException) -> int:
    """The process exit code for `error`: its family's, or 1 for anything unexpected."""
    return error.exit_code if isinstance(error, RunbookError) else 1
