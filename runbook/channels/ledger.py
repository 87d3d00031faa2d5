"""The write ledger: record a write's intent (key, chosen native id) before the network call and
its confirmation after, so retries and restarts resolve a key to one write on the network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook.audit.models import as_utc
from runbook.channels.tables import writes
from runbook.db import write_transaction
from runbook.ports.channel import Receipt

__all__ = ["Entry", "Ledger"]


@dataclass(frozen=True)
class Entry:
    key: str
    account: str
    platform: str
    action: str
    native: str | None
    ref: str | None
    parts: list[str]
    created_at: datetime
    done_at: datetime | None

    @property
    def done(self) -> bool:
        return self.ref is not None

    def receipt(self) -> Receipt | None:
        """The confirmed write (created=False: an earlier call made it), or None while unconfirmed."""
        return None if self.ref is None else Receipt(ref=self.ref, key=self.key, created=False, at=self.done_at)


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> Entry | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(writes).where(writes.c.key == key)).first()
        return None if row is None else _entry(row)

    def claim(self, key: str, *, account: str, platform: str, action: str, native: str | None) -> Entry:
        """The entry of `key`: a new one holding `native`, or the one an earlier attempt recorded
        (whose native id the retry must reuse)."""

        def work(connection: Connection) -> None:
            found = connection.execute(sa.select(writes.c.key).where(writes.c.key == key)).first()
            if found is None:
                # Every column of channel_write named: the claim's arguments and an unconfirmed write's defaults.
                connection.execute(
                    writes.insert().values(
                        key=key,
                        account=account,
                        platform=platform,
                        action=action,
                        native=native,
                        ref=None,
                        parts=[],
                        created_at=as_utc(None),
                    )
                )

        try:
            write_transaction(self.engine, work)
        except IntegrityError:  # another process claimed it first: its native id stands
            pass
        entry = self.get(key)
        assert entry is not None
        return entry

    def claim_delete(self, key: str, *, account: str, platform: str, ref: str) -> bool:
        """Record the intent to delete `ref` under `key` before the call; True when an earlier
        attempt of this key meant to delete it too (so a post already gone was deleted by it)."""
        prior = self.get(key)
        self.claim(key, account=account, platform=platform, action="delete", native=ref)
        return prior is not None and prior.action == "delete" and prior.native == ref

    def progress(self, key: str, parts: list[str]) -> None:
        """A thread's parts written so far (each part has its own native id under `key#n`)."""
        write_transaction(
            self.engine, lambda c: c.execute(writes.update().where(writes.c.key == key).values(parts=list(parts)))
        )

    def confirm(self, key: str, ref: str, parts: list[str] | None = None) -> None:
        values: dict[str, Any] = {"ref": ref, "done_at": as_utc(None)}
        if parts is not None:
            values["parts"] = list(parts)
        write_transaction(
            self.engine,
            lambda c: c.execute(writes.update().where(writes.c.key == key, writes.c.ref.is_(None)).values(**values)),
        )


def _entry(row: Any) -> Entry:
    return Entry(**row._mapping)  # Entry's fields are the table's columns, in order
