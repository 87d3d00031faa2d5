"""One remote freeze or thaw in its own process, for the kill tests:
`python remote_freeze_proc.py DB_URL BUFFER_URL PROFILE_ID freeze|thaw [THAW_ID]`.
The Buffer token comes from TEST_BUFFER_TOKEN; prints `done` when it finishes."""

from __future__ import annotations

import os
import sys

from runbook.channels.buffer import BufferQueue
from runbook.db import make_engine
from runbook.queue.jobs import JobBook
from runbook.queue.remote import freeze_everything
from runbook.queue.thaw import apply_thaw


def main() -> None:
    url, buffer_url, profile, mode = sys.argv[1:5]
    engine = make_engine(url)
    queue = BufferQueue(
        "buffer-main",
        token=os.environ["TEST_BUFFER_TOKEN"],
        profiles={profile: "brand"},
        base_url=buffer_url,
        rate_limit=None,
    )
    if mode == "freeze":
        freeze_everything(engine, remote=[queue], incident_id=None, actor="ana", channel="cli", reason="kill test")
    else:
        jobs = JobBook(engine)
        apply_thaw(engine, sys.argv[5], approver="ben", channel="cli", jobs=jobs, remote=[queue])
        jobs.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
