"""From the channels file to Channel objects: one adapter per configured account, and the router
steps use, which resolves the `account` a step names (an account id, or its handle) to its adapter.
With no channels file the sandbox stays the channel.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from runbook.channels.config import ChannelsConfig, ConfigError, default_path, load_channels_config
from runbook.ports.channel import AccountInfo, ChannelError, Limits, MentionPage, Post, Receipt

__all__ = ["ADAPTERS", "ConfiguredChannels", "build_adapter", "channel_for", "configured"]

# platform -> "module:Class"; each class has from_config(account_id, config, *, engine). Another
# network adds one line here.
ADAPTERS: dict[str, str] = {
    "bluesky": "runbook.channels.bluesky:BlueskyChannel",
    "mastodon": "runbook.channels.mastodon:MastodonChannel",
    "x": "runbook.channels.x:XChannel",
    "facebook": "runbook.channels.meta:MetaChannel",
    "instagram": "runbook.channels.meta:MetaChannel",
}


def build_adapter(config: ChannelsConfig, account_id: str, *, engine: Any = None, **kwargs: Any) -> Any:
    account = config.account(account_id)
    platform = config.channels[account.channel].platform
    if platform == "sandbox":
        from runbook.sandbox.network import SandboxChannel

        if engine is None:
            raise ConfigError("the sandbox channel needs the database")
        return SandboxChannel(engine)
    target = ADAPTERS.get(platform)
    if target is None:
        raise ConfigError(f"account '{account_id}': no adapter for platform {platform} in this build")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls).from_config(account_id, config, engine=engine, **kwargs)


class ConfiguredChannels:
    """The Channel port over every configured account. Adapters are built on first use, so a
    dead or misconfigured account only fails the steps that use it."""

    name = "channels"

    def __init__(self, config: ChannelsConfig, *, engine: Any = None, **adapter_kwargs: Any) -> None:
        self.config = config
        self.engine = engine
        self.adapter_kwargs = adapter_kwargs
        self._adapters: dict[str, Any] = {}

    # -- resolution ---------------------------------------------------------------------------
    def account_id(self, account: str, platform: str | None = None) -> str:
        """An account id from an id or a handle (a step may name either)."""
        if account in self.config.accounts:
            return account
        same = [
            aid
            for aid, a in self.config.accounts.items()
            if a.handle.lstrip("@").casefold() == account.lstrip("@").casefold()
        ]
        # The account on that very platform first; a sandbox account (drills) takes any platform.
        for wanted in ((platform,) if platform else (None,)) + ("sandbox",):
            matches = [aid for aid in same if wanted is None or self._platform(aid) == wanted]
            if len(matches) == 1:
                return matches[0]
            if matches:
                break
        raise ChannelError(
            f"unknown account '{account}'"
            + (f" on {platform}" if platform else "")
            + f": configure it in {self.config.file or 'channels.yaml'} (known: "
            + ", ".join(sorted(self.config.accounts))
            + ")"
        )

    def _platform(self, account_id: str) -> str:
        return self.config.channel_of(account_id).platform

    def adapter(self, account: str, platform: str | None = None) -> Any:
        account_id = self.account_id(account, platform)
        if account_id not in self._adapters:
            self._adapters[account_id] = build_adapter(
                self.config, account_id, engine=self.engine, **self.adapter_kwargs
            )
        return self._adapters[account_id]

    def _handle(self, account: str, platform: str | None = None) -> str:
        account_id = self.account_id(account, platform)
        return self.config.accounts[account_id].handle if self._platform(account_id) == "sandbox" else account_id

    def _owner(self, ref: str) -> Any:
        for account_id in self.config.accounts:
            adapter = self.adapter(account_id)
            owns = getattr(adapter, "owns", None)
            if callable(owns) and owns(ref):
                return adapter
        raise ChannelError(f"no configured account owns post {ref!r}")

    # -- the Channel port -----------------------------------------------------------------------
    def publish(
        self, *, account: str, platform: str, text: str, media: list[dict[str, Any]] | None = None, key: str
    ) -> Receipt:
        return self.adapter(account, platform).publish(
            account=self._handle(account, platform), platform=platform, text=text, media=media, key=key
        )

    def reply(self, *, account: str, platform: str, to_ref: str, text: str, key: str) -> Receipt:
        return self.adapter(account, platform).reply(
            account=self._handle(account, platform), platform=platform, to_ref=to_ref, text=text, key=key
        )

    def delete(self, ref: str, *, key: str) -> bool:
        return self._owner(ref).delete(ref, key=key)

    def mentions(
        self, account: str, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        return self.adapter(account, platform).mentions(
            self._handle(account, platform), platform=platform, since=since, limit=limit
        )

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        try:
            return self.adapter(handle, platform).account(self._handle(handle, platform), platform=platform)
        except ChannelError:
            pass
        for account_id in self.config.accounts:  # someone else's handle: ask a channel of that platform
            if platform is None or self._platform(account_id) == platform:
                found = self.adapter(account_id).account(handle, platform=platform)
                if found is not None:
                    return found
        return None

    def find(self, key: str) -> Receipt | None:
        for account_id in self._candidates(key):
            found = self.adapter(account_id).find(key)
            if found is not None:
                return found
        return None

    def _candidates(self, key: str) -> list[str]:
        """The ledger names the account a key was written from; otherwise ask every account."""
        if self.engine is not None:
            from runbook.channels.ledger import Ledger

            entry = Ledger(self.engine).get(key)
            if entry is not None and entry.account in self.config.accounts:
                return [entry.account]
        return list(self.config.accounts)

    # -- reads of live state ------------------------------------------------------------------------
    def get_post(self, ref: str) -> dict[str, Any] | None:
        try:
            return self._owner(ref).get_post(ref)
        except ChannelError:
            return None

    def recent_posts(self, account: str, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        return self.adapter(account, platform).recent_posts(
            self._handle(account, platform), platform=platform, limit=limit
        )

    def limits(self, account: str, *, platform: str | None = None) -> Limits:
        return self.adapter(account, platform).limits(self._handle(account, platform), platform=platform)

    def url_for(self, *, ref: str, platform: str, account: str) -> str:
        adapter = self.adapter(account, platform)
        builder = getattr(adapter, "url_for", None)
        if callable(builder):
            return builder(ref=ref, platform=platform, account=account)
        return f"{getattr(adapter, 'name', 'channel')}://{platform}/{account}/{ref}"  # as publication.url_of


def configured(path: str | Path | None = None) -> ChannelsConfig | None:
    """The channels file in use (RUNBOOK_CHANNELS, else ./channels.yaml), or None."""
    found = default_path(path)
    return None if found is None else load_channels_config(found)


def channel_for(engine: Any, *, path: str | Path | None = None) -> Any:
    """What steps publish through: the configured accounts when a channels file exists, else the
    sandbox network in our database."""
    config = configured(path)
    if config is None:
        from runbook.sandbox.network import SandboxChannel

        return SandboxChannel(engine)
    return ConfiguredChannels(config, engine=engine)
