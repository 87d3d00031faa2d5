"""What is sent to Prefect as run input, and the form Prefect shows: validated scalars only."""

from __future__ import annotations

import pytest

from runbook.engine.prefect_io import decision_input, parse_wait_key, wait_key
from runbook.plan import GatePlan
from runbook.spec.models import FieldType, InputField


def test_run_input_is_built_from_scalars_and_refuses_dicts(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    built = decision_input(
        approve=True,
        person="ana",
        channel="cli",
        comment="ok",
        fields={"choice": "delete", "n": 3, "tags": ["a"]},
        decision_id="d",
    )
    seal = built.pop("seal")
    assert built == {
        "approve": True,
        "person": "ana",
        "channel": "cli",
        "comment": "ok",
        "escalate": False,
        "decision_id": "d",
        "choice": "delete",
        "n": 3,
        "tags": ["a"],
    }
    assert len(seal) == 64
    # Prefect's server would render this (hydration); it must never be forwarded.
    with pytest.raises(ValueError, match="only text, numbers"):
        decision_input(
            approve=True,
            person="ana",
            channel="cli",
            fields={"text": {"__prefect_kind": "jinja", "template": "{{ 7 * 7 }}"}},
        )
    with pytest.raises(ValueError, match="channel must be one of"):
        decision_input(approve=True, person="ana", channel="email")


def test_wait_keys_round_trip_even_for_step_ids_ending_in_digits():
    assert parse_wait_key(wait_key("delete-decision", 3)) == ("delete-decision", 3)
    assert parse_wait_key(wait_key("step-2", 0)) == ("step-2", 0)
    assert parse_wait_key("1") is None and parse_wait_key(None) is None


def _gate(**fields):
    return GatePlan(
        at="before",
        roles=["legal"],
        quorum=1,
        not_requester=False,
        timeout_seconds=None,
        escalate_to=[],
        on_timeout="fail",
        prompt=None,
        signers=["lea"],
        escalation=[],
        fields=fields,
    )


def test_the_form_shows_only_what_people_fill_in_typed_and_required():
    from runbook.engine.signoff import decision_model

    gate = _gate(
        choice=InputField(type=FieldType.choice, options=["delete", "keep"], title="Delete?", required=True),
        answered=InputField(type=FieldType.int),
    )
    model = decision_model(gate).with_initial_data(description="**Approve** it")
    schema = model.model_json_schema()
    # What the engine sets is not in the form; the server still accepts it (no additionalProperties: false).
    assert set(schema["properties"]) == {"approve", "person", "comment", "choice", "answered"}
    assert "additionalProperties" not in schema
    assert sorted(schema["required"]) == ["choice", "person"]
    enum = schema["$defs"][schema["properties"]["choice"]["$ref"].rsplit("/", 1)[-1]]
    assert enum["enum"] == ["delete", "keep"]  # a select of the options, no "str | None" switch
    assert "**delete**" in schema["properties"]["choice"]["description"]
    assert model._description == "**Approve** it"


def test_a_sealed_decision_keeps_its_channel_and_anything_else_is_prefect_ui(tmp_path, monkeypatch):
    from runbook.engine.signoff import ballot_from, decision_model

    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    monkeypatch.delenv("RUNBOOK_DECISION_KEY", raising=False)
    gate = _gate(choice=InputField(type=FieldType.choice, options=["delete", "keep"], required=True))
    model = decision_model(gate)
    sent = decision_input(approve=True, person="lea", channel="slack", fields={"choice": "keep"}, decision_id="d1")
    assert ballot_from(model(**sent), gate) == {
        "approve": True,
        "person": "lea",
        "channel": "slack",
        "comment": "",
        "escalate": False,
        "decision_id": "d1",
        "fields": {"choice": "keep"},
    }
    # The same input claiming another channel, or a form typed in the UI: recorded as prefect-ui.
    forged = model(**{**sent, "channel": "cli"})
    assert ballot_from(forged, gate)["channel"] == "prefect-ui"
    typed = model(person="lea", choice="delete", channel="slack", escalate=True)
    ballot = ballot_from(typed, gate)
    assert (
        ballot["channel"] == "prefect-ui" and ballot["escalate"] is False and ballot["fields"] == {"choice": "delete"}
    )


def test_the_deadline_reads_in_local_time_and_words():
    from datetime import UTC, datetime, timedelta

    from runbook.engine.signoff import when

    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert when((now + timedelta(minutes=15)).isoformat(), now=now).endswith("in 15 min")
    assert when(now - timedelta(hours=2, minutes=5), now=now).endswith("2 h 5 min ago")
    assert ".000" not in when(now.isoformat(), now=now) and "T12" not in when(now.isoformat(), now=now)


def test_a_step_artifact_shows_a_long_text_in_full():
    from types import SimpleNamespace

    from runbook.engine.artifacts import step_markdown

    statement = ("We are deeply sorry for the offensive image we sent in a reply to a customer today. " * 6).strip()
    step = SimpleNamespace(id="statement", title="Statement", uses="draft_statement")
    run = SimpleNamespace(plan=SimpleNamespace(step=lambda _: step), incident=SimpleNamespace(slug="s"))
    text = step_markdown(
        run,
        step_id="statement",
        outcome="completed",
        outputs={"text": statement, "chars": 500},
        decision={"text": statement + "\nSecond line."},
    )
    assert len(statement) > 400
    assert f"> {statement}" in text and "> Second line." in text
    assert "| text | (in full below) |" in text and "| chars | 500 |" in text
