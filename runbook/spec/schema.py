"""JSON Schema of the playbook language, from the pydantic models, with each step kind's `with:`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.spec.models import Playbook


def playbook_schema(kinds: Mapping[str, Any]) -> dict[str, Any]:
    """The schema with `uses:` limited to `kinds` (name -> StepKind); the caller loads the registry,
    so the language layer never imports the step kinds above it."""
    schema = Playbook.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Runbook playbook"
    step = schema["$defs"]["Step"]
    step["properties"]["uses"]["enum"] = sorted(kinds)
    # Each kind's parameters, selected by `uses`, so editors complete `with:` too.
    step["allOf"] = [
        {
            "if": {"properties": {"uses": {"const": name}}},
            "then": {"properties": {"with": _inline(kind.params.model_json_schema(by_alias=True), schema)}},
        }
        for name, kind in sorted(kinds.items())
    ]
    return schema


def _inline(sub: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Moves a sub-schema's $defs into the root so its $refs resolve."""
    for name, definition in sub.pop("$defs", {}).items():
        root["$defs"].setdefault(name, definition)
    return sub
