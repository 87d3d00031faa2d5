"""The explicit context every message template sees: the incident, the playbook's inputs, the
brand (brand.yaml), earlier steps' outputs, the step's own `vars`; replies add the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.messaging.brand import Brand
from runbook.spec.expressions import expression_context


def incident_info(engine: Any, incident_id: str, slug: str) -> dict[str, Any]:
    info: dict[str, Any] = {"id": incident_id, "slug": slug, "title": "", "severity": None}
    if engine is not None:
        from runbook.audit import get_incident

        try:
            incident = get_incident(engine, incident_id)
        except Exception:  # noqa: BLE001 - a template may still render without the title
            incident = None
        if incident is not None:
            info.update(
                title=incident.title,
                severity=incident.severity,
                started_at=incident.created_at.isoformat() if incident.created_at else None,
            )
    return info


def step_outputs(steps: Mapping[str, Any]) -> dict[str, Any]:
    """`steps.<id>.outputs.<name>` as in `when:` conditions (with `_` aliases for kebab-case ids)."""
    return expression_context(inputs={}, steps=steps)["steps"]


def base_context(
    *,
    incident: Mapping[str, Any],
    inputs: Mapping[str, Any],
    steps: Mapping[str, Any],
    brand: Brand,
    language: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "incident": dict(incident),
        "inputs": dict(inputs),
        "steps": step_outputs(steps),
        "brand": brand.profile.for_template(),
        "language": language,
        "vars": dict(extra or {}),
    }
