"""What every real adapter shares: its identity (account id, platform, handle), its Guard built from
the configured tuning with the account's process-wide limiter, its database (the write ledger), where
its secrets are read, how it is built from the channels file, and the shape of a `check()`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypeVar

from runbook.channels.config import AccountConfig, ChannelConfig, ChannelsConfig, ConfigError, Tuning
from runbook.channels.resilience import Failure, Guard, Headroom, Policy, limiter_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.channels.ledger import Ledger

__all__ = ["AccountCheck", "Adapter", "TokenAdapter"]

_Found = TypeVar("_Found")


@dataclass
class AccountCheck:
    """`runbook channels check` for one account: each problem is one clear line."""

    account: str
    platform: str
    handle: str
    ok: bool = True
    identity: str | None = None  # who the credentials log in as
    scopes: list[str] = field(default_factory=list)
    headroom: dict[str, Any] | None = None
    limits: dict[str, Any] | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def problem(self, line: str) -> None:
        self.ok = False
        self.problems.append(line)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def rate_headroom(self, headroom: Headroom | None) -> None:
        """What the rate-limit headers said last, and a problem when under a tenth is left."""
        self.headroom = headroom.to_dict() if headroom else None
        if headroom and headroom.remaining is not None and headroom.limit and headroom.remaining < headroom.limit * 0.1:
            self.problem(f"rate limit nearly spent: {headroom.remaining}/{headroom.limit} left")


class Adapter:
    """Base of the real adapters. Subclasses set `platform` and `classify` (SDK exception -> Failure)."""

    platform = "?"

    # Positional names, then keyword-only options: a shape duplicates pairs with slack/access.py's
    # refuse(); only the form is alike, nothing is shared to extract.
    def __init__(
        self,
        account_id: str,
        account: AccountConfig,
        channel: ChannelConfig,
        *,
        engine: Engine | None = None,
        tuning: Tuning | None = None,
        sleep: Callable[[float], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.account_id = account_id
        self.engine = engine
        self.environ = environ  # where secrets read at login are looked up (None: the process environment)
        self.config = account
        self.channel_config = channel
        self.handle = account.handle
        self.name = f"{self.platform}:{account_id}"
        tuning = tuning or account.tuning or channel.tuning
        self.policy = Policy(
            timeout=tuning.timeout,
            budget=tuning.budget,
            attempts=tuning.attempts,
            breaker_failures=tuning.breaker_failures,
            breaker_reset=tuning.breaker_reset,
        )
        count, per = _rate(account.rate_limit)
        limiter = limiter_for(f"{self.platform}:{account.handle}", count=count, per=per)
        self.guard = Guard(
            self.name,
            policy=self.policy,
            limiter=limiter,
            classify=self.classify,
            sleep=sleep if sleep is not None else time.sleep,
        )  # Guard's own default

    @classmethod
    def from_config(
        cls, account_id: str, config: ChannelsConfig, *, engine: Engine | None = None, **kwargs: Any
    ) -> Self:
        """The adapter of `account_id` as the channels file configures it (what the registry calls)."""
        account = config.account(account_id)
        return cls(
            account_id, account, config.channel_of(account_id), engine=engine, **cls.credentials(account), **kwargs
        )

    @classmethod
    def credentials(cls, account: AccountConfig) -> dict[str, Any]:
        """Secrets the constructor takes as arguments; adapters that read theirs when logging in take none."""
        return {}

    def _service_url(self, what: str) -> str:
        """The channel's `service:` URL without a trailing slash, for adapters that cannot guess it."""
        service = self.channel_config.service
        if not service:
            raise ConfigError(f"account '{self.account_id}': the {self.platform} channel needs service: ({what})")
        return service.rstrip("/")

    def _ledger(self) -> Ledger | None:
        """The write ledger in the adapter's database; None without one (a check, a dry run)."""
        if self.engine is None:
            return None
        from runbook.channels.ledger import Ledger

        return Ledger(self.engine)

    def delete_once(
        self, key: str, ref: str, look: Callable[[], _Found | None], delete: Callable[[_Found], bool]
    ) -> bool:
        """Delete our post `ref` under `key`: `look()` finds it (None: gone), `delete(found)` deletes it
        (False: someone else deleted it meanwhile). The intent goes in the write ledger first, so a post
        already gone counts as deleted when an earlier attempt of this key claimed the same delete."""
        ledger = self._ledger()
        retried = ledger is not None and ledger.claim_delete(
            key, account=self.account_id, platform=self.platform, ref=ref
        )
        found = look()
        if found is None:
            if ledger is not None and retried:
                ledger.confirm(key, ref)
                return True  # an earlier attempt of this very step deleted it
            return False
        if not delete(found):
            return False
        if ledger is not None:
            ledger.confirm(key, ref)
        return True

    def classify(self, exc: BaseException) -> Failure | None:  # pragma: no cover - every adapter overrides
        return None

    def owns(self, ref: str) -> bool:
        """Whether `ref` names one of this account's posts (the router routes deletes by it)."""
        return False

    def check(self) -> AccountCheck:
        """`channels check`: log in, then look at who the credentials are and what they allow. A login
        that fails is the one problem reported, in the network's own words (`login_problem`)."""
        result = AccountCheck(self.account_id, self.platform, self.handle)
        try:
            login = self.login()
        except ConfigError as exc:
            result.problem(str(exc))
            return result
        except Exception as exc:
            problem = self.login_problem(exc)
            if problem is None:
                raise
            result.problem(problem)
            return result
        self.check_login(login, result)
        return result

    def login(self) -> Any:  # pragma: no cover - adapters using this check() override it
        """Log in (or reuse the session) and return what `check_login` reads."""
        raise NotImplementedError

    def login_problem(self, exc: Exception) -> str | None:
        """How a failed login reads in `channels check`; None: not a login failure, so it is raised."""
        return None

    def check_login(self, login: Any, result: AccountCheck) -> None:  # pragma: no cover - overridden
        """Identity, scopes, limits and headroom of a logged-in account, problems added to `result`."""


class TokenAdapter(Adapter):
    """An adapter built with its account's token in hand (X, Meta): the registry reads the secret
    when it builds the adapter, and the adapter sends it as the bearer token of its HTTP calls."""

    def __init__(
        self, account_id: str, account: AccountConfig, channel: ChannelConfig, *, token: str, **kwargs: Any
    ) -> None:
        super().__init__(account_id, account, channel, **kwargs)
        self._token = token  # never in a repr or a log line

    @classmethod
    def credentials(cls, account: AccountConfig) -> dict[str, Any]:
        return {"token": account.secret("token").get_secret_value()}


def _rate(value: str | None) -> tuple[int | None, float]:
    if not value:
        return None, 1.0
    from runbook.messaging.sending import RateLimit

    limit = RateLimit.parse(value)
    return limit.count, limit.per
