"""Canonical JSON: sorted keys, no whitespace, ASCII only. The single definition, used by the
database's JSON columns (runbook.db) and by the audit hash chain (runbook.audit.chain re-exports it),
so `verify` can hash the stored text directly. Pure: no database code."""

from __future__ import annotations

import json

__all__ = ["canonical_json", "dumps"]

dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def canonical_json(value: object) -> str:
    """JSON with sorted keys, no whitespace, ASCII only; ValueError if `value` is not JSON."""
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from exc
