"""`runbook channels check`: every configured account logs in and reports identity, permissions,
limits and rate-limit headroom. A missing secret or a dead service is a problem line, never a
traceback, and never contains the secret."""

from __future__ import annotations

import time
from collections.abc import Iterable

from runbook.channels.base import AccountCheck
from runbook.channels.config import ChannelsConfig, ConfigError
from runbook.ports.channel import ChannelError

__all__ = ["check_accounts"]


def check_accounts(
    config: ChannelsConfig, *, only: Iterable[str] | None = None, **adapter_kwargs
) -> list[AccountCheck]:
    from runbook.channels.registry import build_adapter

    wanted = set(only or config.accounts)
    out: list[AccountCheck] = []
    for account_id, account in sorted(config.accounts.items()):
        if account_id not in wanted:
            continue
        platform = config.channels[account.channel].platform
        began = time.perf_counter()
        result = AccountCheck(account_id, platform, account.handle)
        try:
            if platform == "sandbox":
                result.identity = account.handle
            else:
                result = build_adapter(config, account_id, **adapter_kwargs).check()
        except (ConfigError, ChannelError) as exc:
            result.problem(_one_line(exc))
        except Exception as exc:  # noqa: BLE001 - a check reports, it does not crash
            result.problem(f"{type(exc).__name__}: {_one_line(exc)}")
        result.seconds = time.perf_counter() - began
        out.append(result)
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
