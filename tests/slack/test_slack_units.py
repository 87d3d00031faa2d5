"""Pure parts: `/crisis` parsing, mrkdwn escaping and Block Kit limits, typed form fields, channel
names, the redacting log filter."""

from __future__ import annotations

import io
import json
import logging

import pytest

from runbook.slack import blocks as bk
from runbook.slack import commands as cmd
from runbook.slack import forms
from runbook.slack.client import RedactingFilter
from runbook.slack.signoffs import needs_input
from runbook.slack.warroom import channel_name
from runbook.spec.models import FieldType, InputField


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", cmd.Help()),
        ("help", cmd.Help()),
        (
            'start social-media-mistake "Offensive reply sent from @brand"',
            cmd.Start("social-media-mistake", "Offensive reply sent from @brand"),
        ),
        ("start Social-Media-Mistake “smart quotes”", cmd.Start("social-media-mistake", "smart quotes")),
        ("start x a &amp; b &lt;c&gt;", cmd.Start("x", "a & b <c>")),
        ("start x", cmd.Start("x", "")),
        ("freeze", cmd.Freeze("")),
        ("FREEZE  bad post went out", cmd.Freeze("bad post went out")),
        ("status", cmd.Status(None)),
        ("status 2024-05-01-offensive-reply", cmd.Status("2024-05-01-offensive-reply")),
        ("status #crisis-2024-05-01-offensive-reply", cmd.Status("2024-05-01-offensive-reply")),
        ("list", cmd.ListPlaybooks()),
    ],
)
def test_parse(text, expected):
    assert cmd.parse(text) == expected


@pytest.mark.parametrize(
    "text, says",
    [
        ("start", "say which playbook"),
        ("start ../../etc/passwd.yaml", "is not a playbook id"),
        ("start playbooks/x.yaml", "is not a playbook id"),
        ("status ../x", "is not an incident"),
        ("launch x", "unknown command 'launch'; type `/crisis help`"),
        ("start x " + "y" * 3001, "keep it under 3000"),
    ],
)
def test_parse_errors_say_what_to_type(text, says):
    with pytest.raises(cmd.ParseError, match=None) as info:
        cmd.parse(text)
    assert says in str(info.value)


def test_escape_only_the_three_characters_slack_decodes():
    assert bk.escape('a & b < c > d "quoted" it\'s') == 'a &amp; b &lt; c &gt; d "quoted" it\'s'
    assert bk.escape("<!channel> <@U123>") == "&lt;!channel&gt; &lt;@U123&gt;"


def test_long_text_is_split_into_sections_within_limits():
    statement = "\n".join(f"Paragraph {n}: " + "we are sorry & we fix it <now>. " * 20 for n in range(30))
    sections = bk.text_sections(statement)
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= bk.MAX_SECTION for s in sections)
    rebuilt = "\n".join(s["text"]["text"] for s in sections)
    assert rebuilt == bk.escape(statement)  # cut at line ends, nothing lost
    one_line = "x&" * 4000  # no line breaks, no spaces, and escaping grows it
    parts = bk.text_sections(one_line)
    assert all(len(p["text"]["text"]) <= bk.MAX_SECTION for p in parts)
    assert "".join(p["text"]["text"] for p in parts) == bk.escape(one_line)


def test_fit_caps_blocks_and_size_and_keeps_the_buttons():
    many = [bk.section("x" * 2900) for _ in range(60)]
    buttons = {"type": "actions", "elements": []}
    fitted = bk.fit(many + [buttons], keep_tail=1)
    assert len(fitted) <= bk.MAX_BLOCKS
    assert bk.size(fitted) <= bk.MAX_TOTAL
    assert fitted[-1] is buttons
    assert "truncated" in json.dumps(fitted[-2])
    small = [bk.section("hello")]
    assert bk.fit(small) == small
    assert len(bk.header("h" * 400)["text"]["text"]) == bk.MAX_HEADER


def test_form_fields_round_trip_with_errors():
    fields = {
        "choice": InputField(type=FieldType.choice, options=["delete", "keep"], required=True),
        "affected": InputField(type=FieldType.int, required=True),
        "link": InputField(type=FieldType.url),
        "names": InputField(type=FieldType.list),
        "staff": InputField(type=FieldType.bool, default=False, title="Staff involved?"),
        "text": InputField(type=FieldType.text, default="We are sorry."),
    }
    blocks = [forms.input_block(n, f) for n, f in fields.items()]
    kinds = {b["block_id"]: b["element"]["type"] for b in blocks}
    assert kinds == {
        "f:choice": "static_select",
        "f:affected": "number_input",
        "f:link": "url_text_input",
        "f:names": "plain_text_input",
        "f:staff": "checkboxes",
        "f:text": "plain_text_input",
    }
    assert blocks[-1]["element"]["initial_value"] == "We are sorry."
    state = {
        "f:choice": {"value": {"type": "static_select", "selected_option": {"value": "maybe"}}},
        "f:affected": {"value": {"type": "number_input", "value": "many"}},
        "f:link": {"value": {"type": "url_text_input", "value": "javascript:alert(1)"}},
        "f:names": {"value": {"type": "plain_text_input", "value": "ana\nben, lea"}},
        "f:staff": {"value": {"type": "checkboxes", "selected_options": [{"value": "true"}]}},
    }
    values, errors = forms.read(fields, state)
    assert errors == {
        "f:choice": "Must be one of delete, keep",
        "f:affected": "Must be a whole number",
        "f:link": "Must be an http(s) url",
    }
    assert values == {"names": ["ana", "ben", "lea"], "staff": True}
    values, errors = forms.read(
        fields,
        {
            "f:choice": {"value": {"type": "static_select", "selected_option": {"value": "keep"}}},
            "f:affected": {"value": {"type": "number_input", "value": "7"}},
        },
    )
    assert errors == {} and values == {"choice": "keep", "affected": 7}
    _, errors = forms.read(fields, {})
    assert errors == {"f:choice": "Required", "f:affected": "Required"}


def test_approve_opens_the_form_only_when_input_is_needed():
    assert not needs_input({})
    assert not needs_input({"text": InputField(type=FieldType.text)})
    assert needs_input({"choice": InputField(type=FieldType.choice, options=["a", "b"], required=True)})
    assert needs_input({"item_1": InputField(type=FieldType.bool, default=False)})  # a checklist item


def test_channel_names_fit_slack():
    assert channel_name("2024-05-01-offensive-reply") == "crisis-2024-05-01-offensive-reply"
    assert channel_name("2024-05-01-offensive-reply", 2) == "crisis-2024-05-01-offensive-reply-2"
    long = "2024-05-01-" + "-".join(["word"] * 40)
    assert len(channel_name(long)) <= 80 and len(channel_name(long, 17)) <= 80
    assert channel_name(long, 17).endswith("-17")
    assert channel_name("2024-05-01-Über.Crisis!!") == "crisis-2024-05-01-ber-crisis"


def test_redacting_filter_masks_tokens_secrets_and_tickets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(["shh-signing-secret-value"]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("calling with xoxb-1234-5678-abcdef and %s", "xapp-1-A111-222-abc")
        logger.info("secret %s", "shh-signing-secret-value")
        logger.info("wss://wss-primary.slack.com/link/?ticket=abc-123-def&app_id=A1")
        logger.info("body: token=legacyverificationtoken123&team_id=T1")
        logger.info('payload {"token": "legacyverificationtoken123", "type": "block_actions"}')
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for secret in ("xoxb-1234", "xapp-1-A111", "shh-signing", "abc-123-def", "legacyverificationtoken123"):
        assert secret not in out
    assert out.count("[redacted]") == 6


def test_the_manifest_declares_what_the_app_uses():
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[2] / "docs" / "slack-manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [cmd.COMMAND]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    # conversations.create/invite (private and public), chat.*, pins.add, the command itself
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "groups:write",
        "channels:manage",
        "pins:write",
    }


def test_gate_state_follows_each_message_of_a_gate():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from runbook.slack.signoffs import gate_state

    at = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)

    def ev(action, step="legal", actor="system", channel="flow", **details):
        return SimpleNamespace(action=action, step=step, actor=actor, channel=channel, details=details, ts=at)

    trail = [ev("signoff.requested", phase=0), ev("signoff.approved", actor="lea", channel="slack", approvals=["lea"])]
    assert gate_state(trail, "legal", 0) == (False, "", ["lea"])  # quorum 2: still open
    trail += [ev("signoff.timed_out", phase=0), ev("signoff.escalated", phase=1)]
    decided, line, _ = gate_state(trail, "legal", 0)
    assert decided and "No decision in time" in line and "escalated request below" in line
    assert gate_state(trail, "legal", 1)[0] is False  # the escalated message stays open
    trail += [
        ev("signoff.approved", actor="dan", channel="cli", approvals=["lea", "dan"]),
        ev("signoff.granted", approvers=["lea", "dan"]),
    ]
    decided, line, _ = gate_state(trail, "legal", 1)
    assert decided and line == "✅ Approved by lea, dan (cli, slack) at 2024-05-01 12:30 UTC"
    rejected = [ev("signoff.requested", phase=0), ev("signoff.rejected", actor="ana", channel="ui")]
    assert gate_state(rejected, "legal", 0)[1] == "❌ Rejected by ana (ui) at 2024-05-01 12:30 UTC"
    cancelled = [ev("signoff.requested", phase=0), ev("incident.cancelled", step=None, actor="ana", channel="cli")]
    assert "Incident cancelled by ana" in gate_state(cancelled, "legal", 0)[1]
    # An "after" gate reopened on new outputs: round 1 is open although round 0 was granted.
    rounds = [
        ev("signoff.requested", phase=0),
        ev("signoff.approved", actor="ana", approvals=["ana"]),
        ev("signoff.granted", approvers=["ana"]),
        ev("step.applied"),
        ev("signoff.requested", phase=0, review=1),
    ]
    assert gate_state(rounds, "legal", 0, 0)[0] is True
    assert gate_state(rounds, "legal", 0, 1) == (False, "", [])
    rounds += [ev("signoff.rejected", actor="ben", channel="slack")]
    assert gate_state(rounds, "legal", 0, 1)[1].startswith("❌ Rejected by ben")
    assert gate_state(rounds, "legal", 0, 0)[1].startswith("✅ Approved by ana")


def test_signoff_keys():
    from runbook.slack.refs import parse_key

    assert parse_key("abc:statement:signoff:0") == ("statement", 0, 0)
    assert parse_key("abc:statement:signoff:1:2") == ("statement", 1, 2)
    assert parse_key("abc:statement:checkpoint") is None
    assert parse_key("abc:statement:signoff:x") is None


def test_work_after_acks_waits_for_requests_in_flight():
    import threading
    import time

    from runbook.slack.quiet import AfterAcks, Quiet

    quiet = Quiet()
    pool = AfterAcks(quiet, max_delay=2.0, max_workers=2)
    ran = threading.Event()
    with quiet.request():
        pool.submit(ran.set)
        time.sleep(0.2)
        assert not ran.is_set()  # an ack is in flight: the work waits
    assert ran.wait(1.0)
    short = AfterAcks(quiet, max_delay=0.1, max_workers=1)
    with quiet.request():  # a request that never ends does not starve the work
        started = time.monotonic()
        assert short.submit(lambda: "done").result(timeout=2) == "done"
        assert 0.09 <= time.monotonic() - started < 1.0
    pool.shutdown()
    short.shutdown()
