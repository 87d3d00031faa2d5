"""Typed fields (playbook inputs, sign-off fields) as Block Kit input blocks, and a submitted view's
state read back into validated scalars with per-block errors for `response_action: errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.slack.blocks import Block, clip, plain
from runbook.spec.models import FieldType, InputField, coerce_field_value

ACTION = "value"  # every input element uses this action_id; the block id names the field
PREFIX = "f:"
COMMENT_BLOCK = "comment"
MAX_TEXT = 3000
MAX_OPTIONS = 100


def block_id(name: str) -> str:
    return f"{PREFIX}{name}"


def _initial_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return clip("\n".join(str(v) for v in value), MAX_TEXT)
    return clip(str(value), MAX_TEXT)


def element(spec: InputField, initial: Any = None) -> dict[str, Any]:
    """The input element for one field, prefilled with `initial` (or the field's default)."""
    value = spec.default if initial is None else initial
    kind = spec.type
    if kind is FieldType.choice and len(spec.options or []) <= MAX_OPTIONS:
        options = [{"text": plain(o, 75), "value": o[:150]} for o in spec.options or []]
        out: dict[str, Any] = {"type": "static_select", "action_id": ACTION, "options": options}
        chosen = [o for o in options if o["value"] == value]
        if chosen:
            out["initial_option"] = chosen[0]
        return out
    if kind is FieldType.bool:
        option = {"text": plain(spec.title or "Yes", 75), "value": "true"}
        out = {"type": "checkboxes", "action_id": ACTION, "options": [option]}
        if value is True:
            out["initial_options"] = [option]
        return out
    if kind is FieldType.int:
        out = {"type": "number_input", "action_id": ACTION, "is_decimal_allowed": False}
        if isinstance(value, int) and not isinstance(value, bool):
            out["initial_value"] = str(value)
        return out
    if kind is FieldType.url:
        out = {"type": "url_text_input", "action_id": ACTION}
    else:
        out = {
            "type": "plain_text_input",
            "action_id": ACTION,
            "max_length": MAX_TEXT,
            "multiline": kind in (FieldType.text, FieldType.list),
        }
    text = _initial_text(value)
    if text is not None:
        out["initial_value"] = text
    if kind is FieldType.list:
        out["placeholder"] = plain("One per line", 150)
    return out


def input_block(name: str, spec: InputField, initial: Any = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id(name),
        "label": plain(spec.title or name.replace("_", " ").capitalize(), 2000),
        "element": element(spec, initial),
        # Slack would refuse an empty required field itself; we check types ourselves anyway, and a
        # tick box must be allowed to stay empty (false).
        "optional": not spec.required or spec.type is FieldType.bool,
    }
    if spec.description:
        block["hint"] = plain(spec.description, 2000)
    return block


def comment_block() -> Block:
    return {
        "type": "input",
        "block_id": COMMENT_BLOCK,
        "optional": True,
        "label": plain("Comment"),
        "element": {"type": "plain_text_input", "action_id": ACTION, "multiline": True, "max_length": 2000},
    }


def _raw(state: Mapping[str, Any], block: str) -> Any:
    element_state = ((state.get(block) or {}).get(ACTION)) or {}
    kind = element_state.get("type")
    if kind == "static_select":
        return (element_state.get("selected_option") or {}).get("value")
    if kind == "checkboxes":
        return bool(element_state.get("selected_options"))
    return element_state.get("value")


def read(fields: Mapping[str, InputField], state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, errors by block id) from `view.state.values`; values are validated scalars only."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in fields.items():
        raw = _raw(state, block_id(name))
        if spec.type is FieldType.list and isinstance(raw, str):
            raw = [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]
        if raw is None or raw == "" or raw == []:
            if spec.required:
                errors[block_id(name)] = "Required"
            continue
        try:
            values[name] = coerce_field_value(spec, raw)
        except ValueError as exc:
            errors[block_id(name)] = clip(str(exc).capitalize(), 150)
    return values, errors


def comment(state: Mapping[str, Any]) -> str:
    value = _raw(state, COMMENT_BLOCK)
    return clip(value, 2000) if isinstance(value, str) else ""
