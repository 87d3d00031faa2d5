"""Spike alerts: opened once per brand while the spike lasts (a partial unique index keeps one
open alert per brand across processes), audited in the listening ledger, sent to the chat port
with a "start playbook" action, optionally starting the playbook, closed when the brand is quiet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook import audit
from runbook.audit.models import as_utc
from runbook.db import write_transaction
from runbook.errors import Conflict
from runbook.listen import evidence
from runbook.listen.config import AlertRule, Brand
from runbook.listen.ledger import ACTOR, ledger_incident
from runbook.listen.spikes import Check
from runbook.listen.tables import alerts

__all__ = [
    "Alert",
    "AlertAction",
    "AlertBusy",
    "AlertOutcome",
    "Starter",
    "get_alert",
    "list_alerts",
    "open_alert_of",
    "process_check",
    "resolve_alert",
    "start_from_alert",
]


class Starter(Protocol):
    """Opens an incident for an alert. Listening sits below the engine and only knows this shape;
    runbook.engine.listen_wiring.engine_starter is the implementation the entry points pass in."""

    def __call__(self, *, playbook: str, inputs: dict[str, Any], requester: str, via: str, title: str) -> Any:
        """Start `playbook`; return the incident (with `.id` and `.slug`)."""
        ...


@dataclass(frozen=True)
class Alert:
    id: str
    brand: str
    status: str
    reasons: list[str]
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    window_start: datetime
    window_end: datetime
    volume: int
    peak_volume: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    negative: int
    negative_share: float
    baseline_negative_share: float
    checks: int
    details: dict[str, Any]
    incident_id: str | None
    start_claim: str | None = None

    def headline(self) -> str:
        window = self.window_end - self.window_start
        minutes = int(window.total_seconds() // 60)
        span = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
        return (
            f"{self.brand}: {self.volume} mentions in the last {span} (baseline {self.baseline_mean:.1f} "
            f"± {self.baseline_std:.1f}, threshold {self.threshold:.1f}); negative {self.negative_share:.0%} "
            f"(baseline {self.baseline_negative_share:.0%})"
        )

    def text(self, *, playbook: str | None = None) -> str:
        lines = [f"ALERT {self.id[:8]}: mention spike ({', '.join(self.reasons)}) for {self.headline()}"]
        lines += [f"why: {line}" for line in (self.details.get("explanation") or [])[:3]]
        concerns = [c for c in (self.details.get("concerns") or []) if "label" in c]
        if concerns:
            lines.append("what people are upset about:")
            lines += [
                f"  {i}. {c['label']}: {c['size']} mentions, {c['negative_share']:.0%} negative"
                + (f' (e.g. "{c["samples"][0][:100]}")' if c.get("samples") else "")
                for i, c in enumerate(concerns[:5], start=1)
            ]
        authors = self.details.get("top_authors") or []
        if authors:
            lines.append(
                "top authors by reach: "
                + ", ".join(
                    f"@{a['author']} ({a['followers']:,} followers, {a['mentions']} mentions)" for a in authors[:5]
                )
            )
        for post in (self.details.get("top_posts") or [])[:3]:
            lines.append(f"- @{post['author']} ({post['followers']:,}): {post['text'][:160]}")
        trigger = self.details.get("trigger")
        if trigger:
            said = f' "{trigger["text"][:160]}"' if trigger.get("text") else ""
            state = "" if "live" not in trigger else (" (still live)" if trigger["live"] else " (deleted)")
            lines.append(
                f"likely trigger: {trigger['ref']} on {trigger['platform']}, {trigger['answers']} answers{state}{said}"
            )
        if self.incident_id:
            lines.append(f"incident started: {self.details.get('incident_slug') or self.incident_id}")
        elif playbook:
            lines.append(f"start playbook {playbook}: runbook alerts start {self.id[:8]} --as PERSON")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("opened_at", "last_seen_at", "resolved_at", "window_start", "window_end"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


class AlertBusy(Conflict, RuntimeError):
    """Someone else is starting a playbook from this alert at this moment."""


@dataclass(frozen=True)
class AlertAction:
    """A one-click action offered with an alert; the value is the opaque alert id."""

    label: str
    playbook: str
    alert_id: str
    command: str


@dataclass
class AlertOutcome:
    brand: str
    action: str  # opened | still_open | resolved | quiet
    check: Check
    alert: Alert | None = None
    incident: Any = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "action": self.action,
            "check": self.check.to_dict(),
            "alert": self.alert.to_dict() if self.alert else None,
            "incident": getattr(self.incident, "slug", None),
            "errors": self.errors,
        }


def _alert(row: sa.Row) -> Alert:
    data = dict(row._mapping)
    data["reasons"] = list(data["reasons"] or [])
    data["details"] = dict(data["details"] or {})
    return Alert(**data)


def get_alert(engine: Engine, ref: str) -> Alert | None:
    """By id, or by a unique id prefix of at least 6 characters (as printed)."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(alerts).where(alerts.c.id == ref)).first()
        if row is None and len(ref) >= 6:
            rows = connection.execute(sa.select(alerts).where(alerts.c.id.startswith(ref)).limit(2)).all()
            row = rows[0] if len(rows) == 1 else None
    return None if row is None else _alert(row)


def open_alert_of(engine: Engine, brand: str) -> Alert | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(alerts).where(alerts.c.brand == brand, alerts.c.status == "open")).first()
    return None if row is None else _alert(row)


def list_alerts(engine: Engine, *, status: str | None = None, limit: int = 50) -> list[Alert]:
    query = sa.select(alerts).order_by(alerts.c.opened_at.desc()).limit(limit)
    if status is not None:
        query = query.where(alerts.c.status == status)
    with engine.connect() as connection:
        return [_alert(row) for row in connection.execute(query)]


def _record(engine: Engine, action: str, details: dict[str, Any], *, actor: str = ACTOR, via: str = "flow") -> int:
    # No sign-offs on the ledger: every row is checkpointed (in the same transaction).
    return audit.append(
        engine,
        incident_id=ledger_incident(engine),
        actor=actor,
        channel=via,
        action=action,
        details=details,
        checkpoint="listening ledger",
    ).seq


def process_check(
    engine: Engine,
    check: Check,
    *,
    brand: Brand,
    rule: AlertRule | None,
    resolve_after: Any,
    chat: Any = None,
    alerts_channel: str | None = None,
    starter: Starter | None = None,
    channel: Any = None,
    via: str = "flow",
    renotify_after: Any = None,
    media: Any = None,
) -> AlertOutcome:
    """Open, keep or close the brand's alert after a check; start the playbook if the rule says so.

    Hysteresis: an open alert stays open while the volume is above the check's lower threshold,
    and closes only after `resolve_after` below it, so one surge is one alert. An open alert that
    spikes again `renotify_after` after it was opened or last announced (day two of a surge) is
    announced again, as the same alert."""
    now = check.at
    current = open_alert_of(engine, brand.id)
    if current is not None and not check.spike:
        if check.elevated:
            return AlertOutcome(brand=brand.id, action="still_open", check=check, alert=_seen(engine, current, check))
        if as_utc(current.last_seen_at) + resolve_after <= now:
            # The check's own arguments passed on by name (like the incident and thaw updates elsewhere, in
            # shape only): resolve_alert is also the CLI's verb, so it takes keywords rather than a check.
            resolved = resolve_alert(
                engine,
                current.id,
                actor=ACTOR,
                reason="quiet",
                now=now,
                chat=chat,
                alerts_channel=alerts_channel,
                via=via,
            )
            return AlertOutcome(brand=brand.id, action="resolved", check=check, alert=resolved)
        return AlertOutcome(brand=brand.id, action="quiet", check=check, alert=current)
    if not check.spike:
        return AlertOutcome(brand=brand.id, action="quiet", check=check, alert=None)
    if current is not None:
        seen = _seen(engine, current, check)
        announced = seen.details.get("announced_at")
        last = as_utc(datetime.fromisoformat(announced)) if announced else as_utc(seen.opened_at)
        if renotify_after is not None and now - last >= renotify_after:
            return AlertOutcome(
                brand=brand.id,
                action="sustained",
                check=check,
                alert=_announce_again(engine, seen, check, chat=chat, alerts_channel=alerts_channel, via=via),
            )
        return AlertOutcome(brand=brand.id, action="still_open", check=check, alert=seen)
    since, until = check.window_start, check.at
    pairs = brand.pairs()
    details = {
        "accounts": [{"platform": p, "handle": h} for p, h in pairs],
        "top_authors": evidence.top_authors(engine, pairs, since=since, until=until),
        "top_posts": evidence.top_posts(engine, pairs, since=since, until=until, limit=3),
        "trigger": evidence.trigger_post(engine, pairs, since=since, until=until, channel=channel),
        "baseline_windows": check.baseline_windows,
        "negative_threshold": round(check.negative_threshold, 3),
        "mode": check.mode,
        "explanation": check.explanation,
        "concerns": _concerns(engine, pairs, since=since, until=until, media=media),
    }
    alert_id = uuid.uuid4().hex
    row = {
        "id": alert_id,
        "brand": brand.id,
        "status": "open",
        "reasons": list(check.reasons),
        "opened_at": now,
        "last_seen_at": now,
        "resolved_at": None,
        "window_start": since,
        "window_end": until,
        "volume": check.volume,
        "peak_volume": check.volume,
        "baseline_mean": check.baseline_mean,
        "baseline_std": check.baseline_std,
        "threshold": check.threshold,
        "negative": check.negative,
        "negative_share": check.negative_share,
        "baseline_negative_share": check.baseline_negative_share,
        "checks": 1,
        "details": details,
        "incident_id": None,
    }
    try:
        write_transaction(engine, lambda c: c.execute(alerts.insert().values(**row)))
    except IntegrityError:  # another monitor opened this brand's alert first: that one stands
        other = open_alert_of(engine, brand.id)
        return AlertOutcome(brand=brand.id, action="still_open", check=check, alert=other)
    alert = get_alert(engine, alert_id)
    assert alert is not None
    playbook = rule.playbook if rule is not None and set(rule.reasons) & set(check.reasons) else None
    _record(
        engine,
        "listen.alert_opened",
        {
            "alert": alert.id,
            "brand": brand.id,
            "reasons": alert.reasons,
            "check": check.to_dict(),
            "trigger": details["trigger"],
            "top_authors": details["top_authors"],
            "playbook": playbook,
        },
        via=via,
    )
    outcome = AlertOutcome(brand=brand.id, action="opened", check=check, alert=alert)
    if rule is not None and playbook and rule.auto_start and starter is not None:
        if not rule.requester:
            outcome.errors.append("auto_start needs a requester in the alert rule")
        else:
            try:
                outcome.incident = start_from_alert(
                    engine,
                    alert.id,
                    playbook=playbook,
                    requester=rule.requester,
                    starter=starter,
                    via=via,
                    extra_inputs=rule.inputs,
                    auto=True,
                )
                outcome.alert = get_alert(engine, alert.id)
            except Exception as exc:  # noqa: BLE001 - the alert stands and still offers the manual start
                outcome.errors.append(f"{type(exc).__name__}: {exc}")
                _record(
                    engine,
                    "listen.alert_start_failed",
                    {"alert": alert.id, "playbook": playbook, "error": f"{type(exc).__name__}: {exc}"[:1000]},
                    via=via,
                )
    _notify(chat, alerts_channel, outcome.alert or alert, playbook=playbook)
    return outcome


def _concerns(engine: Engine, pairs: Any, *, since: datetime, until: datetime, media: Any) -> list[dict[str, Any]]:
    """What the spike's negative mentions are about (runbook.listen.concerns), for the message."""
    from runbook.listen.concerns import concerns_in_window

    try:
        found = concerns_in_window(engine, accounts=pairs, since=since, until=until, media=media)
    except Exception as exc:  # noqa: BLE001 - the alert matters more than its summary
        return [{"error": f"{type(exc).__name__}: {exc}"[:300]}]
    return [c.summary(samples=2) for c in found.concerns[:5]]


def _announce_again(
    engine: Engine, current: Alert, check: Check, *, chat: Any, alerts_channel: str | None, via: str
) -> Alert:
    """Day two of a surge: the same alert, announced again with today's numbers."""
    details = {
        **current.details,
        "announced_at": check.at.isoformat(),
        "announcements": int(current.details.get("announcements", 1)) + 1,
    }
    write_transaction(
        engine, lambda c: c.execute(alerts.update().where(alerts.c.id == current.id).values(details=details))
    )
    _record(
        engine,
        "listen.alert_sustained",
        {"alert": current.id, "brand": current.brand, "reasons": check.reasons, "check": check.to_dict()},
        via=via,
    )
    if chat is not None:
        chat.post(
            alerts_channel,
            f"ALERT {current.id[:8]} still open and spiking again ({', '.join(check.reasons)}): "
            f"{check.volume} mentions in the window, usual {check.baseline_mean:.1f}; "
            + "; ".join(check.explanation[:1]),
            key=f"listen-alert:{current.id}:again:{details['announcements']}",
        )
    return get_alert(engine, current.id) or current


def _seen(engine: Engine, current: Alert, check: Check) -> Alert:
    """Elevated: the alert's 'last seen' moves on (what resolve_after counts from)."""

    def work(connection: Connection) -> None:
        connection.execute(
            alerts.update()
            .where(alerts.c.id == current.id)
            .values(
                last_seen_at=check.at,
                checks=alerts.c.checks + 1,
                peak_volume=sa.case((alerts.c.peak_volume < check.volume, check.volume), else_=alerts.c.peak_volume),
            )
        )

    write_transaction(engine, work)
    return get_alert(engine, current.id) or current


def _notify(chat: Any, alerts_channel: str | None, alert: Alert, *, playbook: str | None) -> None:
    if chat is None:
        return
    text = alert.text(playbook=playbook)
    key = f"listen-alert:{alert.id}"
    post_alert = getattr(chat, "post_alert", None)
    if callable(post_alert) and playbook and not alert.incident_id:
        action = AlertAction(
            label=f"Start playbook {playbook}",
            playbook=playbook,
            alert_id=alert.id,
            command=f"runbook alerts start {alert.id[:8]} --as PERSON",
        )
        post_alert(alerts_channel, text, actions=[action], key=key)
    else:
        chat.post(alerts_channel, text, key=key)


# Engine, id, then keyword-only options, the shape ingest_channel's signature has too: the CLI
# (`runbook alerts resolve`) and the monitor above each pass a different subset by name.
def resolve_alert(
    engine: Engine,
    alert_id: str,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
    chat: Any = None,
    alerts_channel: str | None = None,
    via: str = "cli",
) -> Alert:
    alert = get_alert(engine, alert_id)
    if alert is None:
        raise KeyError(alert_id)
    if alert.status != "open":
        return alert
    at = as_utc(now)

    def work(connection: Connection) -> int:
        return connection.execute(
            alerts.update()
            .where(alerts.c.id == alert.id, alerts.c.status == "open")
            .values(status="resolved", resolved_at=at)
        ).rowcount

    if write_transaction(engine, work):
        _record(
            engine,
            "listen.alert_resolved",
            {"alert": alert.id, "brand": alert.brand, "reason": reason},
            actor=actor,
            via=via,
        )
        if chat is not None:
            chat.post(
                alerts_channel,
                f"Alert {alert.id[:8]} for {alert.brand} closed ({reason}).",
                key=f"listen-alert:{alert.id}:resolved",
            )
    return get_alert(engine, alert.id) or alert


# Keyword-only like decision_input's (engine/prefect_io.py), in shape only: the CLI and the
# monitor's auto-start each name the playbook, requester and starter they pass.
def start_from_alert(
    engine: Engine,
    alert_id: str,
    *,
    playbook: str,
    requester: str,
    starter: Starter,
    via: str = "cli",
    extra_inputs: dict[str, Any] | None = None,
    auto: bool = False,
) -> Any:
    """Start `playbook` for the alert (once: a second call returns the incident already started)."""
    alert = get_alert(engine, alert_id)
    if alert is None:
        raise KeyError(alert_id)
    if alert.incident_id:
        return audit.get_incident(engine, alert.incident_id)
    claim = f"{requester}:{uuid.uuid4().hex[:12]}"[:64]

    def take(connection: Connection) -> int:
        return connection.execute(
            alerts.update()
            .where(alerts.c.id == alert.id, alerts.c.incident_id.is_(None), alerts.c.start_claim.is_(None))
            .values(start_claim=claim)
        ).rowcount

    if not write_transaction(engine, take):
        raise AlertBusy(f"alert {alert.id[:8]}: a playbook is being started from it already")
    trigger = alert.details.get("trigger") or {}
    inputs = {"summary": f"Mention spike: {alert.headline()}"}
    if trigger.get("url"):
        inputs["offending_post"] = trigger["url"]
    inputs.update(extra_inputs or {})
    try:
        incident = starter(
            playbook=playbook, inputs=inputs, requester=requester, via=via, title=f"Mention spike for {alert.brand}"
        )
    except BaseException:
        write_transaction(
            engine,
            lambda c: c.execute(
                alerts.update().where(alerts.c.id == alert.id, alerts.c.start_claim == claim).values(start_claim=None)
            ),
        )
        raise

    def link(connection: Connection) -> int:
        return connection.execute(
            alerts.update()
            .where(alerts.c.id == alert.id, alerts.c.start_claim == claim)
            .values(incident_id=incident.id, details={**alert.details, "incident_slug": incident.slug})
        ).rowcount

    write_transaction(engine, link)
    _record(
        engine,
        "listen.alert_playbook_started",
        {"alert": alert.id, "playbook": playbook, "incident": incident.id, "slug": incident.slug, "auto": auto},
        actor=requester if not auto else ACTOR,
        via=via,
    )
    audit.append(
        engine,
        incident_id=incident.id,
        actor=requester if not auto else ACTOR,
        channel=via,
        action="listen.alert_linked",
        details={
            "alert": alert.id,
            "brand": alert.brand,
            "auto": auto,
            "headline": alert.headline(),
            "trigger": trigger or None,
        },
    )
    return incident
