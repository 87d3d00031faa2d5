"""Writing once on networks without idempotency keys (X, Meta): the key is claimed in the write
ledger before the call; a retry, or a later call after a crash, first looks for the write on the
network (`find`) and adopts it instead of writing again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runbook.ports.channel import Receipt

if TYPE_CHECKING:
    from runbook.channels.ledger import Ledger
    from runbook.channels.resilience import Guard

__all__ = ["LedgeredWrites"]


class LedgeredWrites:
    """Mixin for an Adapter: it uses the adapter's `account_id`, `platform`, `guard` and `_ledger()`."""

    account_id: str
    platform: str
    guard: Guard

    if TYPE_CHECKING:  # declared for mypy only: at run time Adapter's, later in the MRO, answers

        def _ledger(self) -> Ledger | None: ...

    def write_once(self, key: str, action: str, write: Callable[[], str], find: Callable[[], str | None]) -> Receipt:
        """`write()` sends and returns the new ref; `find()` returns the ref if the write is already there."""
        ledger = self._ledger()
        if ledger is not None:
            earlier = ledger.get(key)
            entry = earlier or ledger.claim(
                key, account=self.account_id, platform=self.platform, action=action, native=None
            )
            if (done := entry.receipt()) is not None:
                return done
            if earlier is not None and (found := find()) is not None:
                ledger.confirm(key, found)  # an earlier attempt reached the network before its process died
                return Receipt(ref=found, key=key, created=False)
        attempts = 0

        def attempt() -> str:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (found := find()) is not None:
                return found  # the failed attempt (timeout, 5xx) had reached the network after all
            return write()

        ref = self.guard.call(f"{action} ({key})", attempt)
        if ledger is not None:
            ledger.confirm(key, ref)
        return Receipt(ref=ref, key=key, created=True, at=datetime.now(UTC))

    def find(self, key: str) -> Receipt | None:
        ledger = self._ledger()
        entry = ledger.get(key) if ledger is not None else None
        return None if entry is None else entry.receipt()
