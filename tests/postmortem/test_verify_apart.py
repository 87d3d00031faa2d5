"""A long trail's chain is verified in a second process while the report folds the rows: the report
must be the one a single process builds, tampering must still be found, and a trail rewritten
between the two reads must never let the second process's verdict stand for what was folded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from runbook import audit
from runbook.audit import verify_apart
from runbook.audit.chain import canonical_json, canonical_row, digest
from runbook.postmortem import build_report, render
from runbook.postmortem.trail import scan
from tests.audit.audit_helpers import tamper
from tests.postmortem.scenarios import us_airways
from tests.postmortem.test_trust import _delete_a_row, _edit_a_row, _forge_and_rehash


def test_verified_apart_the_report_is_the_single_process_one(engine) -> None:
    incident = us_airways(engine).incident
    here = scan(engine, incident.id, lambda event: None)
    apart = scan(engine, incident.id, lambda event: None, apart_from=1)
    assert here.verified_apart is None and apart.verified_apart is True
    assert (apart.ok, apart.verification.checked, apart.head_seq, apart.head_hash, apart.checkpoints) == (
        here.ok,
        here.verification.checked,
        here.head_seq,
        here.head_hash,
        here.checkpoints,
    )
    assert apart.apart_peak_rss_mb > 0
    single = build_report(engine, incident.id, now=here.incident.created_at)
    split = build_report(engine, incident.id, now=here.incident.created_at, apart_from=1)
    assert render(split, "md") == render(single, "md")


@pytest.mark.parametrize("attack", [_edit_a_row, _delete_a_row, _forge_and_rehash])
def test_tampering_is_found_by_the_second_process(engine, attack) -> None:
    incident = us_airways(engine).incident
    attack(engine, incident.id)
    here = scan(engine, incident.id, lambda event: None)
    apart = scan(engine, incident.id, lambda event: None, apart_from=1)
    assert apart.verified_apart is True and not apart.ok
    assert apart.verification.problems == here.verification.problems
    assert build_report(engine, incident.id, apart_from=1).state == "untrusted"


def _rewrite_the_whole_chain(engine, incident_id: str) -> None:
    """A forger with database access: one actor changed and every hash recomputed, so the chain
    verifies as it now stands."""
    rows = list(audit.events(engine, incident_id))
    statements, prev = [], rows[0].prev_hash
    for event in rows:
        actor = "mallory" if event.seq == 2 else event.actor
        fields = dict(
            incident_id=incident_id,
            seq=event.seq,
            ts=event.ts,
            actor=actor,
            channel=event.channel,
            action=event.action,
            step=event.step,
        )
        new = digest(canonical_row(**fields, details_json=canonical_json(event.details), prev_hash=prev))
        statements.append(
            (
                "UPDATE audit_event SET actor = :a, prev_hash = :p, hash = :h WHERE incident_id = :i AND seq = :s",
                {"a": actor, "p": prev, "h": new, "i": incident_id, "s": event.seq},
            )
        )
        prev = new
    statements.append(("DELETE FROM audit_checkpoint WHERE incident_id = :i", {"i": incident_id}))
    if engine.dialect.name != "postgresql":
        tamper(engine, *statements)
        return
    # On PostgreSQL, dropping the triggers would wait for the report's open read (DDL takes the
    # table's exclusive lock); a superuser forger switches them off for the session instead.
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            connection.execute(sa.text(sql), params)


def test_a_chain_rewritten_while_the_report_reads_it_is_verified_in_the_report_s_own_snapshot(engine) -> None:
    incident = us_airways(engine).incident
    seen: list[str] = []

    def fold(event) -> None:
        if not seen:  # before the second process starts: it reads the rewritten chain
            _rewrite_the_whole_chain(engine, incident.id)
        seen.append(event.actor)

    found = scan(engine, incident.id, fold, apart_from=1)
    # The rewritten chain verifies on its own, but it is not what was folded: the digests differ,
    # and the chain is verified again here, in the snapshot the rows came from.
    assert found.verified_apart is False
    assert found.ok and "mallory" not in seen
    after = scan(engine, incident.id, lambda event: None, apart_from=1)
    assert after.verified_apart is True and after.ok and after.head_hash != found.head_hash


def test_a_second_process_that_cannot_open_the_database_gives_no_verdict() -> None:
    apart = verify_apart.Apart("postgresql+psycopg://nobody@127.0.0.1:1/none", "x", 5)
    with pytest.raises(verify_apart.VerifyApartFailed):
        apart.result()


def test_the_digest_tells_content_apart_and_ignores_only_the_hash_columns() -> None:
    row = ("inc", 1, "2014-09-08 20:15:00.000000", "sam", "slack", "a", None, '{"x":1}', "p" * 64, "h" * 64)
    content = (None, *row[1:8], None, None)
    full, reduced = verify_apart.ContentDigest(), verify_apart.ContentDigest()
    full.add_full([row])
    reduced.add_content([content])
    assert full.hexdigest() == reduced.hexdigest()
    for i in range(1, 8):
        changed = verify_apart.ContentDigest()
        changed.add_content([(*content[:i], "other" if i != 1 else 2, *content[i + 1 :])])
        assert changed.hexdigest() != reduced.hexdigest(), i
