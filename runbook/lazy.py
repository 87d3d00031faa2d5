"""Lazy re-exports for a package's `__init__` (PEP 562): an exported name loads its module on first
use and is then a plain attribute. Keeps `import runbook` and `import runbook.audit` cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """The package's module-level `__getattr__`: `where` maps each lazy name to the module that
    defines it; `namespace` is the package's globals(), where a loaded name is cached."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # cache: the next access is a plain attribute
        return value

    return __getattr__
