"""What is sent to Prefect as run input, and the form Prefect shows: validated scalars only."""

from __future__ import annotations

import pytest

from runbook.engine.prefect_io import decision_input, parse_wait_key, wait_key
from runbook.plan import GatePlan
from runbook.spec.models import FieldType, InputField


def test_run_input_is_built_from_scalars_and_refuses_dicts():
    built = decision_input(approve=True, person="ana", channel="cli", comment="ok",
                           fields={"choice": "delete", "n": 3, "tags": ["a"]}, decision_id="d")
    assert built == {"approve": True, "person": "ana", "channel": "cli", "comment": "ok", "escalate": False,
                     "decision_id": "d", "choice": "delete", "n": 3, "tags": ["a"]}
    # Prefect's server would render this (hydration); it must never be forwarded.
    with pytest.raises(ValueError, match="only text, numbers"):
        decision_input(approve=True, person="ana", channel="cli",
                       fields={"text": {"__prefect_kind": "jinja", "template": "{{ 7 * 7 }}"}})
    with pytest.raises(ValueError, match="channel must be one of"):
        decision_input(approve=True, person="ana", channel="email")


def test_wait_keys_round_trip_even_for_step_ids_ending_in_digits():
    assert parse_wait_key(wait_key("delete-decision", 3)) == ("delete-decision", 3)
    assert parse_wait_key(wait_key("step-2", 0)) == ("step-2", 0)
    assert parse_wait_key("1") is None and parse_wait_key(None) is None


def test_the_form_has_typed_fields_and_the_prompt():
    from runbook.engine.signoff import ballot_from, decision_model

    gate = GatePlan(at="before", roles=["legal"], quorum=1, not_requester=False, timeout_seconds=None, escalate_to=[],
                    on_timeout="fail", prompt=None, signers=["lea"], escalation=[],
                    fields={"choice": InputField(type=FieldType.choice, options=["delete", "keep"], title="Delete?"),
                            "answered": InputField(type=FieldType.int)})
    model = decision_model(gate).with_initial_data(description="**Approve** it")
    schema = model.model_json_schema()
    assert {"approve", "person", "channel", "comment", "escalate", "decision_id", "choice", "answered"} <= set(schema["properties"])
    assert not schema.get("required")  # every field has a default: the UI form can be sent as is
    assert model._description == "**Approve** it"
    decision = model(person=" lea ", choice="keep", answered=3, channel="slack")
    assert ballot_from(decision, gate) == {"approve": True, "person": "lea", "channel": "slack", "comment": "",
                                           "escalate": False, "decision_id": "",
                                           "fields": {"choice": "keep", "answered": 3}}
