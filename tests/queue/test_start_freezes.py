"""`runbook start` of a playbook whose first step is freeze_posts freezes the queue before any
Prefect worker is involved (the engine runs immediate kinds in the starting process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.queue import list_posts
from tests.queue.conftest import make_posts, soon

PLAYBOOK = """\
id: freeze-first
title: Freeze first
roles: [comms_lead]
inputs:
  summary: {type: text, required: true}
  accounts: {type: list, default: [all]}
steps:
  - id: freeze
    uses: freeze_posts
    with: {accounts: "{{ inputs.accounts }}", reason: "{{ inputs.summary }}"}
  - id: thaw
    uses: thaw_posts
    needs: [freeze]
    signoff: {roles: [comms_lead]}
"""


def test_start_freezes_without_a_worker(sqlite_url: str, sqlite_engine, checker, tmp_path: Path) -> None:  # noqa: ANN001
    commands = pytest.importorskip("runbook.engine.commands")
    from runbook.engine.services import build_services
    from runbook.queue.jobs import JobBook
    from runbook.settings import Settings

    book = JobBook(sqlite_engine)
    posts = make_posts(sqlite_engine, checker, book, count=4, at=soon(3600))
    book.close()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "freeze-first.yaml").write_text(PLAYBOOK, encoding="utf-8")
    settings = Settings(
        home=tmp_path / "home",
        database_url=sqlite_url,
        playbooks_dir=tmp_path / "playbooks",
        roster=Path(__file__).parents[2] / "roster.yaml",
        templates_dir=tmp_path,
    )
    services = build_services(settings, migrate=True)
    started = commands.start(
        services=services,
        playbook_ref="freeze-first",
        inputs={"summary": "Offensive reply"},
        requester="ana",
        create_run=False,
    )
    assert started.immediate == ["freeze"]
    assert {p.status for p in list_posts(sqlite_engine)} == {"frozen"} and len(posts) == 4
