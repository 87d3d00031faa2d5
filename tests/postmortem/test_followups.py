"""Policy follow-ups read from the final sign-off, and their reminders: scheduled once as audit
events, fired once when due, to the incident channel."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from runbook import audit
from runbook.postmortem import build_report, reminders
from runbook.postmortem.followups import parse_due, parse_follow_ups
from tests.postmortem.scenarios import digiorno, us_airways

BASE = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Second-person check on media (owner: Bram, 2 weeks)",
            ("Second-person check on media", "Bram", date(2026, 12, 7)),
        ),
        ("Read every hashtag (owner: Noor, now)", ("Read every hashtag", "Noor", date(2026, 11, 23))),
        ("Lock the media library | Sam | 2026-12-01", ("Lock the media library", "Sam", date(2026, 12, 1))),
        ("Lock the media library | Sam", ("Lock the media library", "Sam", None)),
        ("- Update the protocol; owner: Ana; due: 2026-12-15", ("Update the protocol", "Ana", date(2026, 12, 15))),
        ("1. Train the team (Eva, in 1 month)", ("Train the team", "Eva", date(2026, 12, 23))),
        ("Train the team", ("Train the team", None, None)),
        ("Review tools (owner: Omar, by Friday)", ("Review tools", "Omar", None)),
    ],
)
def test_follow_up_lines(text: str, expected: tuple) -> None:
    (item,) = parse_follow_ups(text, BASE)
    assert (item.what, item.owner, item.due) == expected


def test_nothing_is_guessed() -> None:
    assert parse_due("next quarter", BASE) is None
    assert parse_due("tomorrow", BASE) == date(2026, 11, 24)
    items = parse_follow_ups("\n\n* one\n* two (owner: Sam)\n", BASE)
    assert [(i.what, i.owner, i.due, i.due_text) for i in items] == [("one", None, None, ""), ("two", "Sam", None, "")]


def test_reminders_fire_once_when_due(lite) -> None:
    expected = us_airways(lite)
    report = build_report(lite, expected.incident.id)
    assert [f.reminder.remind_at.isoformat() for f in report.follow_ups] == [
        "2014-04-28T09:00:00+00:00",
        "2014-05-01T09:00:00+00:00",
    ]
    # Scheduling again adds nothing: the report already joins each follow-up to its reminder.
    existing = {(f.source_seq, i) for i, f in enumerate(report.follow_ups) if f.reminder}
    assert (
        reminders.schedule(
            lite, incident_id=expected.incident.id, follow_ups=report.follow_ups, step="review", existing=existing
        )
        == []
    )

    assert reminders.due_reminders(lite, now=datetime(2014, 4, 28, 8, 59, tzinfo=UTC)) == []
    posted: list[tuple] = []

    class Chat:
        def post(self, channel, text, *, key):
            posted.append((channel, text, key))
            return key

    fired = reminders.fire_due(lite, chat_for=lambda incident_id: Chat(), now=datetime(2014, 4, 29, tzinfo=UTC))
    assert [d.details["what"] for d in fired] == ["Second-person check on media in replies"]
    assert "owner: Bram" in posted[0][1] and "due 2014-04-28" in posted[0][1]
    assert reminders.fire_due(lite, chat_for=lambda i: Chat(), now=datetime(2014, 4, 30, tzinfo=UTC)) == []
    later = reminders.fire_due(lite, chat_for=lambda i: Chat(), now=datetime(2014, 6, 1, tzinfo=UTC))
    assert [d.details["what"] for d in later] == ["Media library locked to approved images"]
    assert len(posted) == 2

    report = build_report(lite, expected.incident.id)
    assert [f.reminder.fired_at.date().isoformat() for f in report.follow_ups] == ["2014-04-29", "2014-06-01"]
    assert audit.verify(lite, expected.incident.id).ok


def test_a_due_date_already_past_fires_at_the_next_run(lite) -> None:
    expected = digiorno(lite)
    report = build_report(lite, expected.incident.id)
    item = report.follow_ups[0].model_copy(update={"due": date(2014, 9, 1)})
    now = datetime(2014, 9, 8, 22, 0, tzinfo=UTC)
    assert reminders.remind_at(item, hour=9, now=now) == now
