"""One tick of the monitor: ingest every configured source, check every brand for a spike (open,
keep or close its alert), and escalate convene requests past their deadline. `runbook monitor`
repeats it; `runbook monitor --once` and the Prefect flow run it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from runbook.audit.models import as_utc
from runbook.listen.alerts import AlertOutcome, Starter, process_check
from runbook.listen.config import ListeningConfig
from runbook.listen.convene import Escalation, escalate_overdue
from runbook.listen.ingest import IngestResult, ingest_channel
from runbook.listen.sentiment import load_analyzer
from runbook.listen.spikes import check_spike

__all__ = ["Tick", "run_once"]


@dataclass
class Tick:
    at: datetime
    ingested: list[IngestResult] = field(default_factory=list)
    outcomes: list[AlertOutcome] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "seconds": round(self.seconds, 3),
            "ingested": [r.to_dict() for r in self.ingested],
            "brands": [o.to_dict() for o in self.outcomes],
            "escalations": [
                {**e.__dict__, "deadline": e.deadline.isoformat() if e.deadline else None} for e in self.escalations
            ],
            "errors": self.errors,
        }


def _channel_for(source: Any, engine: Engine, channels: Mapping[str, Any] | None) -> Any:
    if channels and source.name in channels:
        return channels[source.name]
    if getattr(source, "kind", "sandbox") == "channels":  # mentions from the real networks' accounts
        from runbook.channels.registry import channel_for
        from runbook.settings import Settings

        return channel_for(engine, path=Settings().channels.file)
    from runbook.sandbox.network import SandboxChannel

    return SandboxChannel(engine)


def run_once(
    engine: Engine,
    config: ListeningConfig,
    *,
    now: datetime | None = None,
    channels: Mapping[str, Any] | None = None,
    chat: Any = None,
    starter: Starter | None = None,
    roster: Any = None,
    chat_for: Callable[[str], Any] | None = None,
    via: str = "cli",
    ingest: bool = True,
    check: bool = True,
    escalate: bool = True,
) -> Tick:
    """One check. A failure in one source or brand is reported and does not stop the others."""
    began = time.perf_counter()
    tick = Tick(at=as_utc(now))
    analyzer = load_analyzer(config.sentiment) if ingest else None
    if ingest:
        for source in config.sources:
            channel = _channel_for(source, engine, channels)
            for brand in config.brands:
                for platform, handle in brand.pairs():
                    try:
                        tick.ingested.append(
                            ingest_channel(
                                engine,
                                channel,
                                source=source.name,
                                account=handle,
                                platform=platform,
                                page_size=source.page_size,
                                analyzer=analyzer,
                            )
                        )
                    except Exception as exc:  # noqa: BLE001 - one broken source must not blind the rest
                        tick.errors.append(f"ingest {source.name} {handle}: {type(exc).__name__}: {exc}")
    for brand in config.brands if check else []:
        try:
            result = check_spike(engine, brand=brand.id, accounts=brand.pairs(), rule=brand.rule(), now=tick.at)
            tick.outcomes.append(
                process_check(
                    engine,
                    result,
                    brand=brand,
                    rule=config.rule_for(brand.id),
                    resolve_after=config.resolve_after_for(brand.id),
                    renotify_after=config.renotify_after_for(brand.id),
                    media=config.media,
                    chat=chat,
                    alerts_channel=config.alerts_channel,
                    starter=starter,
                    channel=_channel_for(config.sources[0], engine, channels) if config.sources else None,
                    via=via,
                )
            )
        except Exception as exc:  # noqa: BLE001
            tick.errors.append(f"check {brand.id}: {type(exc).__name__}: {exc}")
    if escalate and roster is not None:
        try:
            tick.escalations = escalate_overdue(engine, roster=roster, now=tick.at, chat_for=chat_for)
        except Exception as exc:  # noqa: BLE001
            tick.errors.append(f"escalate: {type(exc).__name__}: {exc}")
    tick.seconds = time.perf_counter() - began
    return tick
