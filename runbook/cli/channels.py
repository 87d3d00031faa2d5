"""`runbook channels list | check | schema`: the configured brand accounts, and whether each one
works (connectivity, identity, permissions, rate-limit headroom), one line per problem.

Secrets are never printed: `list` says where each lives and whether it is set, nothing more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from runbook.cli.common import fail

channels_app = typer.Typer(
    help="Brand accounts on real networks (channels.yaml): list, check, schema.", no_args_is_help=True
)
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Channels file (default RUNBOOK_CHANNELS, then ./channels.yaml)")
]


def register(app: typer.Typer) -> None:
    app.add_typer(channels_app, name="channels")


def _config(path: Path | None) -> Any:
    from runbook.channels.config import default_path, load_channels_config
    from runbook.settings import Settings
    from runbook.spec.errors import SpecError

    found = default_path(path or Settings().channels.file)
    if found is None:
        return None
    if not found.is_file():
        fail(f"{found}: no such channels file", code=2)
    try:
        return load_channels_config(found)
    except SpecError as exc:
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None


def _secret_state(ref: Any) -> str:
    if ref is None:
        return "no token"
    from runbook.channels.config import ConfigError

    try:
        ref.resolve()
    except ConfigError:
        return f"{ref.where()} (MISSING)"
    return f"{ref.where()} (set)"


@channels_app.command("list")
def list_(file: FileOpt = None, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The configured accounts: id, brand, platform, handle, service, where the token lives."""
    config = _config(file)
    if config is None:
        message = "no channels file: steps act on the sandbox network (write channels.yaml to connect accounts)"
        typer.echo(json.dumps({"file": None, "accounts": [], "note": message}) if json_out else message)
        return
    rows = []
    for account_id, account in sorted(config.accounts.items()):
        channel = config.channels[account.channel]
        rows.append(
            {
                "id": account_id,
                "brand": account.brand,
                "platform": channel.platform,
                "handle": account.handle,
                "channel": account.channel,
                "service": channel.service,
                "token": _secret_state(account.token_ref()),
            }
        )
    queues = [
        {"id": qid, "kind": q.kind, "brand": q.brand, "account": q.account}
        for qid, q in sorted(config.remote_queues.items())
    ]
    if json_out:
        typer.echo(json.dumps({"file": config.file, "accounts": rows, "remote_queues": queues}, indent=2))
        return
    typer.echo(f"{config.file}: {len(rows)} account(s), {len(queues)} remote queue(s)")
    for row in rows:
        typer.echo(
            f"  {row['id']:<20} {row['platform']:<9} {row['handle']:<28} brand={row['brand']} "
            f"service={row['service'] or '-'} token={row['token']}"
        )
    for queue in queues:
        typer.echo(f"  queue {queue['id']:<14} {queue['kind']:<9} brand={queue['brand']} account={queue['account']}")


@channels_app.command("check")
def check(
    file: FileOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    account: Annotated[list[str] | None, typer.Option("--account", help="Only these account ids")] = None,
) -> None:
    """Log in as every account and report identity, permissions, limits and rate-limit headroom.
    Exit 1 when any account has a problem."""
    from runbook.channels.checks import check_accounts

    config = _config(file)
    if config is None:
        message = "no channels file: the sandbox network is in use, nothing to check"
        typer.echo(json.dumps({"file": None, "ok": True, "accounts": []}) if json_out else message)
        return
    unknown = [a for a in account or [] if a not in config.accounts]
    if unknown:
        fail(f"unknown account(s): {', '.join(unknown)} (known: {', '.join(sorted(config.accounts))})", code=2)
    results = check_accounts(config, only=account)
    ok = all(r.ok for r in results)
    if json_out:
        typer.echo(
            json.dumps(
                {"file": config.file, "ok": ok, "accounts": [r.to_dict() for r in results]}, indent=2, default=str
            )
        )
    else:
        for r in results:
            head = "ok  " if r.ok else "FAIL"
            room = r.headroom or {}
            extra = (
                f" headroom={room.get('remaining')}/{room.get('limit')}" if room.get("remaining") is not None else ""
            )
            typer.echo(
                f"{head} {r.account} ({r.platform} {r.handle}) as {r.identity or '?'}"
                f"{' scopes=' + ','.join(r.scopes) if r.scopes else ''}{extra} {r.seconds:.2f}s"
            )
            for line in r.problems:
                typer.echo(f"     - {r.account}: {line}")
    if not ok:
        raise typer.Exit(1)


@channels_app.command("schema")
def schema(out: Annotated[Path | None, typer.Option("--out", help="Write it to this file")] = None) -> None:
    """The JSON Schema of channels.yaml (for editors): docs/channels.schema.json."""
    from runbook.channels.config import channels_schema

    text = json.dumps(channels_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
