"""Incidents: creation with a readable unique slug, look-up by id or slug, status updates.

The incident row is mutable (status, flow run, channel); closing one records a checkpoint.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook.audit.chain import canonical_json
from runbook.audit.errors import IncidentNotFound
from runbook.audit.models import INCIDENT_TABLE, KINDS, STATUSES, TERMINAL_STATUSES, Incident, as_utc
from runbook.audit.store import append_in, record_checkpoint
from runbook.db import write_transaction

SLUG_MAX = 60
UPDATABLE = frozenset({"status", "flow_run_id", "channel", "closed_at", "severity"})
_incidents = INCIDENT_TABLE


class _IncidentRow(TypedDict):
    id: str
    title: str
    playbook_id: str
    playbook_version: int
    inputs: dict[str, Any]
    requester: str
    severity: str | None
    status: str
    flow_run_id: str | None
    channel: str | None
    created_at: datetime
    closed_at: datetime | None
    kind: str
    slug: str


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by dashes ("incident" when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "incident"


def _slug_candidate(date: str, words: str, n: int) -> str:
    suffix = "" if n == 1 else f"-{n}"
    room = SLUG_MAX - len(date) - 1 - len(suffix)
    if len(words) > room:
        cut = words[:room]
        # Cut at a word boundary unless that would lose most of the title.
        words = cut.rsplit("-", 1)[0] if "-" in cut[room // 2 :] else cut.rstrip("-")
    return f"{date}-{words}{suffix}"


def _free_slug(connection: Connection, date: str, words: str) -> str:
    # Every candidate keeps at least this much of the title, so one query finds all rivals.
    prefix = f"{date}-{words[:15]}"
    taken = set(connection.execute(sa.select(_incidents.c.slug).where(_incidents.c.slug.startswith(prefix))).scalars())
    n = 1
    while (slug := _slug_candidate(date, words, n)) in taken:
        n += 1
    return slug


def _row_to_incident(row: sa.Row[*tuple[Any, ...]]) -> Incident:
    return Incident(**row._mapping)


def create_incident(
    engine: Engine,
    *,
    playbook_id: str,
    playbook_version: int,
    inputs: dict[str, Any],
    requester: str,
    title: str,
    severity: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
    kind: str = "incident",
    slug: str | None = None,
    event: dict[str, Any] | None = None,
) -> Incident:
    """Create an open incident; its slug is the UTC date plus the slugified title, unless `slug`
    is given (a ledger's fixed slug: a clash is then an IntegrityError, not a new suffix).
    `event` (append's keyword arguments but the incident) is its first audit event, appended in the
    same transaction: the incident and the record of its start commit together or not at all."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if not isinstance(inputs, dict):
        raise ValueError(f"inputs must be a dict, got {type(inputs).__name__}")
    canonical_json(inputs)  # the ValueError for non-JSON inputs, before touching the database
    if not isinstance(requester, str) or not requester.strip():
        raise ValueError("requester must be a non-empty string")
    created_at = as_utc(now)
    date, words = created_at.strftime("%Y-%m-%d"), slugify(title)
    incident_id = uuid4().hex

    def work(connection: Connection) -> Incident:
        # Every column named: the arguments, and what an incident starts with (open, no flow run, not closed).
        row = _IncidentRow(
            id=incident_id,
            title=title,
            playbook_id=playbook_id,
            playbook_version=playbook_version,
            inputs=inputs,
            requester=requester,
            severity=severity,
            status="open",
            flow_run_id=None,
            channel=channel,
            created_at=created_at,
            closed_at=None,
            kind=kind,
            slug=slug or _free_slug(connection, date, words),
        )
        connection.execute(_incidents.insert(), row)
        if event is not None:
            append_in(connection, incident_id=incident_id, **event)
        return Incident(**row)

    # On PostgreSQL two creators may pick the same free slug; the unique index refuses the
    # second, which then looks again.
    for attempt in range(20):
        try:
            return write_transaction(engine, work)
        except IntegrityError:
            if attempt == 19 or slug is not None:
                raise
    raise AssertionError("unreachable")


def _by_ref(ref: str) -> sa.ColumnElement[bool]:
    return sa.or_(_incidents.c.id == ref, _incidents.c.slug == ref)


def get_incident(engine: Engine, ref: str) -> Incident | None:
    """The incident whose id or slug is `ref`, or None."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(_incidents).where(_by_ref(ref))).first()
    return None if row is None else _row_to_incident(row)


def list_incidents(
    engine: Engine, *, status: str | None = None, kind: str | Iterable[str] | None = None
) -> list[Incident]:
    """Incidents, oldest first, optionally only those with `status` and of `kind` (one or several)."""
    query = sa.select(_incidents).order_by(_incidents.c.created_at, _incidents.c.id)
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        unknown = set(kinds) - KINDS
        if unknown:
            raise ValueError(f"kind must be among {sorted(KINDS)}, got {sorted(unknown)}")
        query = query.where(_incidents.c.kind.in_(kinds))
    if status is not None:
        _check_status(status)
        query = query.where(_incidents.c.status == status)
    with engine.connect() as connection:
        return [_row_to_incident(row) for row in connection.execute(query)]


def _check_status(status: object) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)}, got {status!r}")


# update_incident and update_incident_in keep one keyword signature, like append and append_in: the
# first opens the write transaction that the second joins.
def update_incident(
    engine: Engine,
    incident_id: str,
    *,
    event: dict[str, Any] | None = None,
    expect_status: str | None = None,
    **fields: Any,
) -> Incident:
    """Change status, flow_run_id, channel, closed_at or severity, in one write transaction of
    its own (`update_incident_in` in a caller's)."""
    return write_transaction(
        engine,
        lambda connection: update_incident_in(
            connection, incident_id, event=event, expect_status=expect_status, **fields
        ),
    )


def update_incident_in(
    connection: Connection,
    incident_id: str,
    *,
    event: dict[str, Any] | None = None,
    expect_status: str | None = None,
    **fields: Any,
) -> Incident:
    """Change status, flow_run_id, channel, closed_at or severity within the caller's write
    transaction (which may append the change's audit events before it, with `append_in`).

    Moving into completed/failed/cancelled sets closed_at (unless given) and checkpoints the
    chain's head in the same transaction, so the close is anchored. `event` (append's keyword
    arguments but the incident) is appended in that same transaction, before the checkpoint: the
    change and its audit event commit together or not at all. `expect_status`: a compare-and-set,
    ValueError when the incident's status is another (two people resuming it at once).
    """
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise TypeError(f"update_incident() cannot change {sorted(unknown)}; allowed: {sorted(UPDATABLE)}")
    if "status" in fields:
        _check_status(fields["status"])
    if fields.get("closed_at") is not None:
        fields["closed_at"] = as_utc(fields["closed_at"])
    current = connection.execute(sa.select(_incidents).where(_by_ref(incident_id)).with_for_update()).first()
    if current is None:
        raise IncidentNotFound(incident_id)
    if expect_status is not None and current.status != expect_status:
        raise ValueError(f"incident {current.slug} is {current.status}, not {expect_status}")
    changes = dict(fields)
    closing = changes.get("status") in TERMINAL_STATUSES and current.status not in TERMINAL_STATUSES
    if closing and "closed_at" not in changes and current.closed_at is None:
        changes["closed_at"] = as_utc(None)
    if changes:
        connection.execute(_incidents.update().where(_incidents.c.id == current.id).values(**changes))
    if event is not None:
        append_in(connection, incident_id=current.id, **event)
    if closing:
        record_checkpoint(connection, current.id, reason=f"incident {changes['status']}")
    return Incident(**{**current._mapping, **changes})
