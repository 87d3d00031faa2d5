"""The Slack Web API client as the app uses it: pointed at `slack_api_url` when set, retrying 429s
after `Retry-After` and transient failures (slack_sdk retry handlers), and a log filter that keeps
tokens, secrets and Socket Mode tickets out of every log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from runbook.settings import Settings

RATE_LIMIT_RETRIES = 4  # each waits Retry-After (+ up to 1 s of jitter) before trying again
TIMEOUT_SECONDS = 10


def retry_handlers() -> list:
    return [
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def api_url(settings: Settings) -> str:
    url = settings.slack_api_url or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


def make_client(settings: Settings) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(token=token, base_url=api_url(settings), timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())


def webhook(url: str) -> WebhookClient:
    """A client for one `response_url` (slash commands and buttons answer through it)."""
    return WebhookClient(url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())


# -- redaction ---------------------------------------------------------------------------------

_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),  # bot, user, app-config tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # app-level token (Socket Mode)
    re.compile(r"(ticket=)[A-Za-z0-9-]+"),  # Socket Mode WebSocket URL ticket
    # the deprecated verification token Slack still puts in every slash command and payload
    re.compile(r"""((?:^|[&?"'\s{,])token["']?\s*[:=]\s*["']?)[A-Za-z0-9_-]{6,}"""),
]


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked; the record is always kept."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            return True
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    return [
        s.get_secret_value()
        for s in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
        if s is not None
    ]


def install_redaction(settings: Settings, handlers: Iterable[logging.Handler] | None = None) -> RedactingFilter:
    """Attach the filter to `handlers` (default: the root logger's), which see every propagated
    record whichever library logged it."""
    flt = RedactingFilter(secrets_of(settings))
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
