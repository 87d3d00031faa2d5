"""`runbook serve`: the Slack app, in Socket Mode (default: outbound only, no public URL) or in
HTTP mode with `--http HOST:PORT` (events at /slack/events)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from runbook.cli.common import fail


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) < 65536):  # 0: any free port
        raise typer.BadParameter("write it as HOST:PORT, e.g. 0.0.0.0:3000")
    return host or "0.0.0.0", int(port)


def serve(
    http: Annotated[
        str | None, typer.Option("--http", metavar="HOST:PORT", help="HTTP mode on this address instead of Socket Mode")
    ] = None,
    relay: Annotated[bool, typer.Option(help="Mirror audit trails into war rooms (one process per workspace)")] = True,
    timeline: Annotated[bool, typer.Option(help="Echo every audit event into the war room")] = True,
    public_rooms: Annotated[bool, typer.Option(help="Create public war rooms instead of private ones")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Debug logging (secrets are redacted)")] = False,
) -> None:
    """Serve the Slack app: /crisis, war rooms, sign-off buttons and forms."""
    from runbook.engine.services import build_services
    from runbook.settings import Settings
    from runbook.slack import create_app, make_server
    from runbook.slack.client import install_redaction

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = Settings()
    install_redaction(settings)
    address = _address(http) if http else None
    secrets = settings.slack
    if secrets.bot_token is None:
        fail("no bot token: set SLACK_BOT_TOKEN (xoxb-...) or RUNBOOK_SLACK_BOT_TOKEN", code=2)
    if address is not None and secrets.signing_secret is None:
        fail("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials)", code=2)
    if address is None and secrets.app_token is None:
        fail("Socket Mode needs SLACK_APP_TOKEN (xapp-..., scope connections:write); or use --http HOST:PORT", code=2)
    services = build_services(settings, migrate=True)
    slack = create_app(settings=settings, services=services, relay=relay, echo=timeline, private_rooms=not public_rooms)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if address is not None and secrets.signing_secret is not None:
            server = make_server(
                slack.bolt,
                signing_secret=secrets.signing_secret.get_secret_value(),
                host=address[0],
                port=address[1],
                quiet=slack.quiet,
            )
            server.start_background()
            typer.echo(f"runbook serve: HTTP mode, Slack events at {server.url}")
            _wait(stop)
            server.shutdown()
        elif secrets.app_token is not None:
            from runbook.slack.socket_mode import connect

            handler = connect(slack.bolt, secrets.app_token.get_secret_value())
            typer.echo("runbook serve: Socket Mode, connected to Slack")
            _wait(stop)
            handler.close()
    finally:
        slack.close()


def _wait(stop: threading.Event) -> None:
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
