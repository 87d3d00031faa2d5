"""Every malformed or unverifiable request is a 401 from the HTTP endpoint (never a 500), and nothing
behind it runs; a valid signature passes. The verifier is also checked on its own."""

from __future__ import annotations

import time

import pytest

from runbook.slack.verify import RequestVerifier, sign
from tests.slack.conftest import SECRET


def _listeners_ran(h) -> bool:
    return bool(h.fake.responses) or bool(h.fake.of("views.open"))


CASES = {
    "no timestamp header": lambda a, body: a.send(
        body, signed=False, headers={"X-Slack-Signature": sign(SECRET, body, int(time.time()))["X-Slack-Signature"]}
    ),
    "no signature header": lambda a, body: a.send(
        body, signed=False, headers={"X-Slack-Request-Timestamp": str(int(time.time()))}
    ),
    "no headers at all": lambda a, body: a.send(body, signed=False),
    "bad signature": lambda a, body: a.send(body, headers={"X-Slack-Signature": "v0=" + "0" * 64}),
    "signature of another body": lambda a, body: a.send(body + b"&x=1", headers=sign(SECRET, body, int(time.time()))),
    "wrong secret": lambda a, body: a.send(body, signed=False, headers=sign("not-the-secret", body, int(time.time()))),
    "stale timestamp": lambda a, body: a.send(body, timestamp=int(time.time()) - 301),
    "future timestamp": lambda a, body: a.send(body, timestamp=int(time.time()) + 301),
    "non-integer timestamp": lambda a, body: a.send(body, timestamp="12abc"),
    "float timestamp": lambda a, body: a.send(body, timestamp=f"{time.time():.3f}"),
    "empty timestamp": lambda a, body: a.send(
        body, signed=False, headers={"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=" + "0" * 64}
    ),
    "non-UTF-8 body": lambda a, body: a.send(b"text=\xff\xfe\xfa&command=%2Fcrisis"),
    "non-UTF-8 body, JSON": lambda a, body: a.send(b'{"text": "\xc3\x28"}', content_type="application/json"),
    "malformed signature": lambda a, body: a.send(body, headers={"X-Slack-Signature": "v1=abc"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_requests_get_401(offline, case):
    body = offline.agent.command_body("help", user="U0ANA")
    answer = CASES[case](offline.agent, body)
    assert answer.status == 401, (case, answer.body)
    assert answer.body == '{"error": "invalid request"}'
    time.sleep(0.05)
    assert not _listeners_ran(offline)


def test_a_valid_signature_passes_and_bolt_lazy_headers_are_ignored(offline):
    body = offline.agent.command_body("status", user="U0ANA")
    # Unsigned headers that would make Bolt run only a named lazy function: stripped.
    answer = offline.agent.send(
        body, headers={"X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "run_command"}
    )
    assert answer.status == 200
    assert "No open incidents" in offline.fake.wait_response()["text"]


def test_other_paths_and_oversized_bodies(offline):
    import http.client

    conn = http.client.HTTPConnection(offline.agent.host, offline.agent.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    conn = http.client.HTTPConnection(offline.agent.host, offline.agent.port, timeout=10)
    conn.request("POST", "/elsewhere", body=b"x")
    assert conn.getresponse().status == 404
    conn.close()
    conn = http.client.HTTPConnection(offline.agent.host, offline.agent.port, timeout=10)
    conn.request("POST", "/slack/events", body=b"", headers={"Content-Length": "99999999"})
    assert conn.getresponse().status == 413
    conn.close()
    conn = http.client.HTTPConnection(offline.agent.host, offline.agent.port, timeout=10)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Length", "lots")
    conn.endheaders()
    assert conn.getresponse().status == 400  # refused by the HTTP parser itself, before any of our code
    conn.close()


def test_verifier_never_raises():
    now = 1_700_000_000
    verifier = RequestVerifier(SECRET, now=lambda: now)
    body = b"a=1"
    good = sign(SECRET, body, now)
    assert verifier.check(good, body)
    assert verifier.check({k.lower(): v for k, v in good.items()}, body)  # header names in any case
    cases = [
        ({}, body, "missing X-Slack-Request-Timestamp"),
        ({"X-Slack-Request-Timestamp": str(now)}, body, "missing X-Slack-Signature"),
        ({**good, "X-Slack-Request-Timestamp": "1e9"}, body, "not an integer"),
        ({**good, "X-Slack-Request-Timestamp": "-5"}, body, "not an integer"),
        ({**good, "X-Slack-Request-Timestamp": " 1700000000"}, body, "not an integer"),
        (sign(SECRET, body, now - 301), body, "stale"),
        (good, b"\xff", "not UTF-8"),
        (good, "a=1", "not bytes"),
        ({**good, "X-Slack-Signature": "v0=" + "f" * 64}, body, "bad signature"),
        ({**good, "X-Slack-Signature": ["v0=zz"]}, body, "malformed"),
    ]
    for headers, data, reason in cases:
        verdict = verifier.check(headers, data)
        assert not verdict and reason in verdict.reason, (headers, verdict)
    # Inside the window at its edge, and a list-valued header as some frameworks give them.
    assert RequestVerifier(SECRET, now=lambda: now + 300).check(good, body)
    assert verifier.check({k: [v] for k, v in good.items()}, body)
