"""Verifying one incident's chain in a second process while this one reads the same rows for a
report: a million-row post-mortem uses both cores. Each side digests the content it read, and only
equal digests let the second process's verdict stand for the rows the report folded."""

from __future__ import annotations

import hashlib
import json
import marshal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runbook.audit.verify import IncidentWalk, Problem, Row, load_checkpoints, stream

_CHUNK = 64  # rows serialised per hash update


# The peak resident memory of the last second process that gave a verdict (for bench/postmortem.py:
# a report's memory is this process's and the verifier's together).
last_peak_rss_mb = 0.0


class ContentDigest:
    """SHA-256 over what a report reads of each row (seq through details), batch by batch in seq
    order, in the shape event_query(content_only=True) gives: NULL for the incident and hashes."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add_content(self, batch: Sequence[Row]) -> None:
        """Rows read with content_only=True (the report's side)."""
        self._add(batch if type(batch) is list and _plain(batch) else [tuple(row) for row in batch])

    def add_full(self, batch: Sequence[Row]) -> None:
        """Rows read in full (the verifier's side), reduced to the content-only shape."""
        self._add([(None, *row[1:8], None, None) for row in batch])

    def _add(self, rows: list[Any]) -> None:
        # A few rows at a time: a row may hold a list of a thousand people, and a whole batch of
        # them serialised at once would double the memory the batch already takes.
        for start in range(0, len(rows), _CHUNK):
            self._hash.update(_exact(rows[start : start + _CHUNK]))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _plain(batch: list[Row]) -> bool:
    return not batch or type(batch[0]) is tuple


def _exact(rows: list[Any]) -> bytes:
    # marshal version 2: exact for str, int and None, and without version 3's back-references,
    # whose use depends on reference counts and so differs between the two sides. PostgreSQL
    # gives datetimes, which marshal refuses: their repr is exact too (slower).
    try:
        return marshal.dumps(rows, 2)
    except ValueError:
        return repr(rows).encode()


@dataclass(frozen=True)
class Verified:
    """The second process's verdict on rows 1..head, with the digest of what it read."""

    problems: list[Problem]
    checked: int
    checkpoints: int
    head_seq: int | None
    head_hash: str | None
    digest: str
    peak_rss_mb: float  # the second process's own high-water mark (0 where /proc is absent)


def verify_through(url: str, incident_id: str, head: int) -> Verified:
    """Runs in the second process: `runbook audit verify`'s walk over the incident's rows up to
    `head`, and the digest of their content. Checkpoints past `head` belong to rows not read."""
    from runbook.db import make_engine

    engine = make_engine(url)
    digest = ContentDigest()
    with engine.connect() as connection, connection.begin():
        recorded = {
            seq: hashes
            for seq, hashes in load_checkpoints(connection, incident_id).pop(incident_id, {}).items()
            if seq <= head
        }
        count = sum(len(hashes) for hashes in recorded.values())
        walk = IncidentWalk(incident_id, recorded)
        for batch in stream(connection, incident_id, through=head):
            walk.feed(batch)
            digest.add_full(batch)
        walk.finish()
    last = walk.last
    return Verified(
        problems=walk.problems,
        checked=walk.checked,
        checkpoints=count,
        head_seq=None if last is None else last[1],
        head_hash=None if last is None else last[9],
        digest=digest.hexdigest(),
        peak_rss_mb=_peak_rss_mb(),
    )


class Apart:
    """verify_through running in a child interpreter (`python -m runbook.audit.verify_apart`), not
    a multiprocessing worker: nothing of the caller's main module is imported again. The database
    URL goes through stdin, not the command line, where `ps` would show its password."""

    def __init__(self, url: str, incident_id: str, head: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "runbook.audit.verify_apart"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Written now (a few hundred bytes: the pipe takes them without blocking), so the child
        # starts reading rows at once rather than when the result is asked for.
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"url": url, "incident_id": incident_id, "head": head}))
        self._process.stdin.close()
        self._process.stdin = None  # communicate() would flush it otherwise

    def result(self) -> Verified:
        """Wait for the verdict; raises VerifyApartFailed when the child did not give one."""
        out, err = self._process.communicate()
        lines = out.strip().splitlines()
        if self._process.returncode != 0 or not lines:
            raise VerifyApartFailed(f"exit {self._process.returncode}: {err.strip()[-500:]}")
        found = json.loads(lines[-1])
        found["problems"] = [Problem(**problem) for problem in found["problems"]]
        verdict = Verified(**found)
        global last_peak_rss_mb
        last_peak_rss_mb = verdict.peak_rss_mb
        return verdict

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


class VerifyApartFailed(RuntimeError):
    """The second process gave no verdict (the caller verifies in its own process instead)."""


def main() -> None:
    request = json.loads(sys.stdin.read())
    verdict = verify_through(request["url"], request["incident_id"], int(request["head"]))
    print(json.dumps(asdict(verdict)))


def _peak_rss_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
