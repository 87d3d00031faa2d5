"""Every failure after an ack reaches the person as one sentence: a NUL in `/crisis freeze` text
is refused in the ack; an unexpected error in the work (here the queue's table is gone) is told,
not left at "Freezing…"."""

from __future__ import annotations

from runbook.queue import list_freezes
from runbook.queue.tables import posts


def test_a_nul_in_the_command_text_is_refused_in_the_ack(offline):
    answer = offline.agent.command("freeze bad\x00text", user="U0ANA")
    assert answer.status == 200
    assert "contains a NUL character" in answer.json()["text"]
    assert list_freezes(offline.services.db) == []


def test_an_unexpected_failure_after_the_ack_is_told_in_one_sentence(offline):
    with offline.services.db.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE {posts.name}")
    answer = offline.agent.command("freeze broken queue", user="U0ANA")
    assert answer.status == 200 and "Freezing" in answer.json()["text"]
    told = offline.fake.wait_response(lambda p: "failed" in p.get("text", ""))
    text = told["text"]
    assert text.startswith("⚠️ /crisis freeze failed: OperationalError: no such table")
    assert text.endswith("Nothing more was done; the app's log has the details.")
    assert "\n" not in text
