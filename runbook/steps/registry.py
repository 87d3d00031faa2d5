"""The step-kind registry: the built-in kinds plus those third parties add through the
`runbook.steps` entry point group (the value is a StepKind or a callable returning one).
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from importlib.metadata import entry_points

from runbook.errors import ConfigurationError
from runbook.steps.base import StepKind

log = logging.getLogger(__name__)

BUILTIN_MODULES = (
    "runbook.steps.notify",
    "runbook.steps.checklist",
    "runbook.steps.decide",
    "runbook.steps.wait",
    "runbook.steps.freeze_posts",
    "runbook.steps.thaw_posts",
    "runbook.steps.postmortem",
    "runbook.steps.assess_impact",
    "runbook.steps.convene_teams",
    "runbook.steps.delete_post",
    "runbook.steps.draft_statement",
    "runbook.steps.publish",
    "runbook.steps.reply_individually",
)
ENTRY_POINT_GROUP = "runbook.steps"


class RegistryError(ConfigurationError, RuntimeError):
    pass


@lru_cache(maxsize=1)
def load_kinds() -> dict[str, StepKind]:
    kinds: dict[str, StepKind] = {}
    for module_name in BUILTIN_MODULES:
        register(kinds, importlib.import_module(module_name).KIND, origin=module_name)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            kind = loaded() if callable(loaded) and not isinstance(loaded, StepKind) else loaded
            register(kinds, kind, origin=ep.value)
        except Exception as exc:  # a broken plugin must not take the product down
            log.warning("step kind plugin %s (%s) not loaded: %s", ep.name, ep.value, exc)
    return kinds


def register(kinds: dict[str, StepKind], kind: object, *, origin: str) -> None:
    if not isinstance(kind, StepKind):
        raise RegistryError(f"{origin} does not provide a StepKind")
    if kind.name in kinds:
        raise RegistryError(f"step kind '{kind.name}' from {origin} is already registered")
    kinds[kind.name] = kind
