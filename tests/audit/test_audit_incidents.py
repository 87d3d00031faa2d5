"""Incidents: slugs, look-ups, listing and status updates (with the close checkpoint)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from runbook import audit
from tests.audit.audit_helpers import fill, new_incident

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def make(engine: sa.Engine, title: str, **extra) -> audit.Incident:
    return audit.create_incident(
        engine,
        playbook_id="social-media-mistake",
        playbook_version=3,
        inputs={"k": [1]},
        requester="U-alice",
        title=title,
        now=NOW,
        **extra,
    )


def test_slug_is_date_plus_title_and_unique(engine: sa.Engine) -> None:
    first = make(engine, "Offensive reply!")
    second = make(engine, "Offensive reply!")
    third = make(engine, "offensive   REPLY")
    assert [first.slug, second.slug, third.slug] == [
        "2026-11-23-offensive-reply",
        "2026-11-23-offensive-reply-2",
        "2026-11-23-offensive-reply-3",
    ]
    assert len(first.id) == 32 and int(first.id, 16) >= 0


def test_long_and_odd_titles(engine: sa.Engine) -> None:
    title = "Tweet sent from the brand account mocking a grieving customer about the flood"
    slugs = [make(engine, title).slug for _ in range(3)]
    assert all(len(slug) <= 60 for slug in slugs)
    assert slugs[0] == "2026-11-23-tweet-sent-from-the-brand-account-mocking-a"
    assert slugs[1:] == [slugs[0] + "-2", slugs[0] + "-3"]
    assert make(engine, "¡Crème brûlée!").slug == "2026-11-23-creme-brulee"
    assert make(engine, "🔥🔥").slug == "2026-11-23-incident"


def test_fields_round_trip(engine: sa.Engine) -> None:
    created = make(engine, "Red Cross tweet", severity="high", channel="C123")
    loaded = audit.get_incident(engine, created.slug)
    assert loaded is not None
    assert loaded.model_dump() == created.model_dump()
    assert loaded.status == "open" and loaded.created_at == NOW and loaded.closed_at is None
    assert loaded.inputs == {"k": [1]} and loaded.playbook_version == 3
    assert audit.get_incident(engine, created.id).slug == created.slug
    assert audit.get_incident(engine, "2026-01-01-nothing") is None


def test_create_rejects_non_json_inputs(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        audit.create_incident(
            engine, playbook_id="p", playbook_version=1, inputs={"x": {1, 2}}, requester="U", title="t"
        )


def test_list_and_update(engine: sa.Engine) -> None:
    first = make(engine, "one")
    second = new_incident(engine, "two", now=NOW + timedelta(seconds=1))
    updated = audit.update_incident(engine, second.id, status="running", flow_run_id="fr-1", severity="low")
    assert (updated.status, updated.flow_run_id, updated.severity) == ("running", "fr-1", "low")
    assert [i.id for i in audit.list_incidents(engine)] == [first.id, second.id]
    assert [i.id for i in audit.list_incidents(engine, status="running")] == [second.id]
    assert audit.get_incident(engine, second.id).flow_run_id == "fr-1"
    with pytest.raises(ValueError, match="status must be one of"):
        audit.update_incident(engine, first.id, status="done")
    with pytest.raises(ValueError, match="status must be one of"):
        audit.list_incidents(engine, status="done")
    with pytest.raises(TypeError, match="cannot change"):
        audit.update_incident(engine, first.id, slug="x")
    with pytest.raises(audit.IncidentNotFound):
        audit.update_incident(engine, "nope", status="running")


def test_closing_sets_closed_at_and_checkpoints_the_head(engine: sa.Engine) -> None:
    incident = make(engine, "DiGiorno")
    events = fill(engine, incident.id, 4)
    closed = audit.update_incident(engine, incident.slug, status="completed")
    assert closed.closed_at is not None and closed.closed_at.tzinfo is not None
    (recorded,) = audit.checkpoints(engine, incident.id)
    assert (recorded.seq, recorded.hash, recorded.reason) == (4, events[-1].hash, "incident completed")
    # Already closed: no second close checkpoint, closed_at kept.
    again = audit.update_incident(engine, incident.id, status="failed")
    assert again.closed_at == closed.closed_at
    assert len(audit.checkpoints(engine, incident.id)) == 1
