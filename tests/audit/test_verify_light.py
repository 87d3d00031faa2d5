"""The audit package loads its chain and verification without SQLModel (the post-mortem's verifying
process stays light), and its lazily exported names stay the functions and classes they name."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import runbook.audit
from runbook.audit import models

# By its module name: the package's `verify` is the function.
verify = importlib.import_module("runbook.audit.verify")


def test_the_verifiers_light_tables_name_the_models_tables_and_columns() -> None:
    for light, model in (
        (verify.AUDIT_EVENT_TABLE, models.AUDIT_EVENT_TABLE),
        (verify.AUDIT_CHECKPOINT_TABLE, models.AUDIT_CHECKPOINT_TABLE),
        (verify.INCIDENT_TABLE, models.INCIDENT_TABLE),
    ):
        assert light.name == model.name
        assert set(light.c.keys()) <= set(model.c.keys()), light.name


def test_the_verifying_process_imports_neither_sqlmodel_nor_pydantic() -> None:
    probe = (
        "import sys, runbook.audit.verify_apart, runbook.db\n"
        "print(sorted(m for m in ('sqlmodel', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_exported_name_stays_what_it_names_once_every_submodule_is_loaded() -> None:
    # A submodule's first import sets the package's attribute of its name: an exported name equal
    # to a module's would then turn into that module.
    for info in pkgutil.iter_modules(runbook.audit.__path__):
        if info.name != "migrations":
            importlib.import_module(f"runbook.audit.{info.name}")
    for name in runbook.audit.__all__:
        assert not isinstance(getattr(runbook.audit, name), ModuleType), name
    assert callable(runbook.audit.verify) and callable(runbook.audit.ledger)
