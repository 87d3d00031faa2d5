"""The remote queues a freeze covers, built from the channels file's `remote_queues:` (kind
`buffer` or `meta`); none when there is no channels file. Secrets are read here, when a queue
is built, and never leave the adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook.ports.remote_queue import RemoteQueue

__all__ = ["KINDS", "build_queue", "configured_queues", "remote_queues"]

KINDS = ("buffer", "meta")


def build_queue(config: Any, queue_id: str) -> RemoteQueue:
    """One configured remote queue. Raises ConfigError (one line, never the secret)."""
    from runbook.channels.config import ConfigError

    queue = config.remote_queues[queue_id]
    account = config.accounts.get(queue.account) if queue.account else None
    handle = (account.handle if account else str(queue.options.get("account") or "")).lstrip("@")
    if not handle:
        raise ConfigError(f"remote queue '{queue_id}': name the account it publishes for (account: ID)")
    token = queue.secret("token").get_secret_value()
    timeout = queue.tuning.timeout if queue.tuning else 10.0
    if queue.kind == "buffer":
        from runbook.channels.buffer import API, BufferQueue

        profile = queue.options.get("profile_id")
        if not profile:
            raise ConfigError(f"remote queue '{queue_id}': set options.profile_id (the Buffer profile)")
        rate = queue.options.get("rate_limit", "60/1m")
        return BufferQueue(
            queue_id,
            token=token,
            profiles={str(profile): handle},
            base_url=queue.service or API,
            timeout=timeout,
            rate_limit=str(rate) if rate else None,
        )
    if queue.kind == "meta":
        from runbook.channels.meta import API, VERSION, MetaScheduledQueue

        page = queue.options.get("page_id") or (
            (account.options.get("page_id") or config.channels[account.channel].options.get("page_id"))
            if account
            else None
        )
        if not page:
            raise ConfigError(f"remote queue '{queue_id}': set options.page_id (the Facebook Page)")
        return MetaScheduledQueue(
            queue_id,
            page_id=str(page),
            account=handle,
            token=token,
            base_url=queue.service or API,
            version=str(queue.options.get("version", VERSION)),
            timeout=timeout,
        )
    raise ConfigError(f"remote queue '{queue_id}': kind {queue.kind!r} has no adapter (known: {', '.join(KINDS)})")


def remote_queues(path: str | Path | None = None, *, config: Any = None) -> list[RemoteQueue]:
    """Every configured remote queue (the channels file in use, or `config`)."""
    if config is None:
        from runbook.channels.registry import configured

        config = configured(path)
    if config is None:
        return []
    return [build_queue(config, queue_id) for queue_id in sorted(config.remote_queues)]


def configured_queues(path: str | Path | None = None) -> tuple[list[RemoteQueue], str | None]:
    """The configured remote queues that could be built and, instead of raising, one line naming
    those that could not: a freeze goes ahead locally (and on the others) regardless."""
    from runbook.channels.config import ConfigError
    from runbook.channels.registry import configured
    from runbook.spec.errors import SpecError

    if path is None:
        from runbook.settings import Settings

        path = Settings().channels.file
    try:
        config = configured(path)
    except SpecError as exc:
        return [], f"remote queues not frozen: {str(exc).splitlines()[0]}"
    if config is None:
        return [], None
    built, problems = [], []
    for queue_id in sorted(config.remote_queues):
        try:
            built.append(build_queue(config, queue_id))
        except ConfigError as exc:
            problems.append(f"{queue_id}: {str(exc).splitlines()[0]}")
    return built, ("remote queues not frozen: " + "; ".join(problems)) if problems else None
