"""The console chat: prints once per idempotency key, in memory or through the audit trail."""

from __future__ import annotations

import io

from runbook.audit import create_incident, events
from runbook.db import init_db, make_engine
from runbook.ports.chat import Chat, ConsoleChat, SignoffRequest


def test_console_chat_posts_once_per_key_in_memory():
    out = io.StringIO()
    chat = ConsoleChat(out=out)
    assert isinstance(chat, Chat)
    first = chat.post("crisis", "hello\nworld", key="k1")
    assert chat.post("crisis", "hello again", key="k1") == first
    assert out.getvalue() == "[chat #crisis] hello\n[chat #crisis]   world\n"


def test_console_chat_records_in_the_audit_trail_and_survives_a_new_process(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    init_db(db)
    incident = create_incident(db, playbook_id="p", playbook_version=1, inputs={}, requester="ron", title="t")
    out = io.StringIO()
    request = SignoffRequest(
        incident_id=incident.id,
        incident_slug=incident.slug,
        step_id="statement",
        title="Approve",
        prompt="Approve it",
        signers=["ana", "ben"],
        quorum=2,
    )
    ConsoleChat(engine=db, incident_id=incident.id, out=out).request_signoff(None, request, key="s1")
    # A fresh instance (a rerun in another process) finds the key in the trail and stays quiet.
    ConsoleChat(engine=db, incident_id=incident.id, out=out).request_signoff(None, request, key="s1")
    posted = [e for e in events(db, incident.id) if e.action == "chat.posted"]
    assert len(posted) == 1 and posted[0].details["key"] == "s1" and posted[0].details["kind"] == "signoff_request"
    assert out.getvalue().count("Sign-off needed") == 1
    assert "may sign: ana, ben (2 more approvals needed)" in out.getvalue()
