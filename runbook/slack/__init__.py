"""The Slack app: `/crisis`, war rooms, sign-off buttons and modals, and the Chat port on Slack.

Only this package imports slack_sdk and Bolt. Start with `create_app` (runbook.slack.app).
"""

from runbook.slack.app import SlackApp, chat_factory, create_app
from runbook.slack.chat import Outbox, SlackChat
from runbook.slack.http import SlackHTTPServer, make_server
from runbook.slack.verify import RequestVerifier, sign

__all__ = [
    "Outbox",
    "RequestVerifier",
    "SlackApp",
    "SlackChat",
    "SlackHTTPServer",
    "chat_factory",
    "create_app",
    "make_server",
    "sign",
]
