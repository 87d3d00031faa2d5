"""Child process for the crash test: ingests and dies (os._exit, no cleanup, no rollback call)
inside the transaction of page `--die-on-page`, after the insert and before the commit."""

from __future__ import annotations

import argparse
import os

from runbook.db import make_engine
from runbook.listen.ingest import ingest_channel
from runbook.sandbox import SandboxChannel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("account")
    parser.add_argument("--die-on-page", type=int, required=True)
    args = parser.parse_args()
    engine = make_engine(args.url)
    pages = 0

    def before_commit(connection, items) -> None:  # noqa: ANN001
        nonlocal pages
        pages += 1
        if pages == args.die_on_page:
            os._exit(3)

    ingest_channel(
        engine,
        SandboxChannel(engine),
        source="sandbox",
        account=args.account,
        page_size=500,
        before_commit=before_commit,
    )


if __name__ == "__main__":
    main()
