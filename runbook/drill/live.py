"""`runbook drill start`: a real incident of kind `drill` on the sandbox network, with the simulated
public posting as simulated time passes (`speed` simulated seconds per wall second), the team
playing through Slack, the CLI or the Prefect UI, or a policy playing it (`--auto`). When the
incident closes, the public runs to the scenario's end, and the score is written to the trail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from runbook.audit import append, events, get_incident
from runbook.audit.models import Incident, as_utc
from runbook.drill.actions import Action, actions_to_json
from runbook.drill.observe import Clock, Seen, observe
from runbook.drill.policy import Policy
from runbook.drill.public import Public
from runbook.drill.scenario import Scenario
from runbook.engine.services import Services
from runbook.sandbox.tables import mentions as mention_table

__all__ = ["DrillError", "DrillRun", "run_drill"]

TITLE_PREFIX = "[DRILL] "


class DrillError(RuntimeError):
    """A drill could not start or finish; str() is one line."""


@dataclass
class DrillRun:
    """The state of one live drill, advanced on every poll of the engine's driver."""

    services: Services
    scenario: Scenario
    seed: int
    speed: float
    clock: Clock
    offending_key: str
    offending_ref: str
    policy: Policy | None = None
    incident: Incident | None = None  # from the first tick (callers read it once the drill ran)
    public: Public | None = None
    actions: list[Action] = field(default_factory=list)
    seen: Seen = field(default_factory=lambda: Seen(events=set(), posts=set()))
    posted: set[int] = field(default_factory=set)  # the policy's own posts already published
    on_start: Any = None  # on_start(incident): e.g. open the Slack war room (`drill-<slug>`)

    # -- the public --------------------------------------------------------------------------
    def tick(self, incident: Incident, trail: list[Any] | None = None) -> None:
        if self.incident is None:
            self.incident = incident
            self.public = Public(scenario=self.scenario, seed=self.seed)
            append(
                self.services.db,
                incident_id=incident.id,
                actor="system:drill",
                channel="flow",
                action="drill.started",
                details={
                    "scenario": self.scenario.id,
                    "seed": self.seed,
                    "speed": self.speed,
                    "policy": self.policy.name if self.policy else None,
                    "wall_start": self.clock.wall_start.isoformat(),
                    "offending_ref": self.offending_ref,
                    "scenario_spec": self.scenario.model_dump(mode="json"),
                },
            )
            self._banner()
            if self.on_start is not None:
                self.on_start(incident)
        assert self.public is not None
        self._policy_posts()
        now = min(int(self.clock.now()) + 1, self.scenario.minutes)
        self.advance(now, trail)

    def advance(self, until: int, trail: list[Any] | None = None) -> None:
        assert self.public is not None and self.incident is not None
        trail = trail if trail is not None else events(self.services.db, self.incident.id)
        new = observe(
            self.services.db,
            incident_id=self.incident.id,
            brand=self.scenario.brand.handle,
            offending_key=self.offending_key,
            events=trail,
            clock=self.clock,
            seen=self.seen,
            earliest=self.public.t,
        )
        if new:
            self.actions.extend(new)
            # What the public saw, and from which minute: the evidence a replay needs.
            append(
                self.services.db,
                incident_id=self.incident.id,
                actor="system:drill",
                channel="flow",
                action="drill.observed",
                details={"actions": actions_to_json(new)},
            )
        if until > self.public.t:
            written = self.public.advance(until, self.actions)
            self._write(written)

    def _incident(self) -> Incident:
        assert self.incident is not None  # the first tick() sets it, before anything is written
        return self.incident

    def _write(self, written: list[Any]) -> None:
        if not written:
            return
        from runbook.listen.ingest import ingest_channel
        from runbook.sandbox import SandboxChannel

        sc = self.scenario
        now = as_utc(None)
        incident_id = self._incident().id
        rows = [
            {
                "key": f"drill:{incident_id}:{m.key}",
                "platform": sc.brand.platform,
                "account": sc.brand.handle,
                "author": m.author,
                "author_followers": m.followers,
                "text": m.text,
                "in_reply_to": self.offending_ref if m.kind == "post" and m.negative else None,
                "created_at": now,
                "meta": {
                    "drill": incident_id,
                    "t": m.t,
                    "negative": m.negative,
                    "kind": m.kind,
                    "audience": m.audience,
                    "lang": m.language,
                    "sim_key": m.key,
                },
            }
            for m in written
        ]
        with self.services.db.begin() as connection:
            for chunk in range(0, len(rows), 2000):
                connection.execute(mention_table.insert(), rows[chunk : chunk + 2000])
        ingest_channel(self.services.db, SandboxChannel(self.services.db), source="sandbox", account=sc.brand.handle)

    def _banner(self) -> None:
        from runbook.drill.banner import DRILL_BANNER

        try:
            incident = self._incident()
            self.services.chat(incident.id).post(incident.channel, DRILL_BANNER, key="drill-banner")
        except Exception:  # noqa: BLE001 - the banner is also in the Slack room and the title
            pass

    def _policy_posts(self) -> None:
        """The policy's posts during the freeze: somebody posting by hand on the brand account."""
        if self.policy is None:
            return
        from runbook.sandbox import SandboxChannel

        minute = self.clock.now()
        incident_id = self._incident().id
        for n, post in enumerate(self.policy.posts):
            if n not in self.posted and minute >= post.at.total_seconds() / 60:
                self.posted.add(n)
                SandboxChannel(self.services.db).publish(
                    account=self.scenario.brand.handle,
                    platform=self.scenario.brand.platform,
                    text=post.text.format(brand=self.scenario.brand.handle),
                    key=f"drill:{incident_id}:manual:{n}",
                )

    def finish(self) -> None:
        """After the incident closed: the public runs on to the scenario's end."""
        assert self.public is not None  # tick() made it when the incident started
        self.advance(self.public.t, None)  # the last actions, seen where the public is now
        self.advance(self.scenario.minutes, None)


def seed_sandbox(services: Services, scenario: Scenario, *, nonce: str, requester: str) -> tuple[str, str, list[str]]:
    """The brand account, its offending post, and scheduled posts for the freeze to hold."""
    from runbook.checks import Checker
    from runbook.queue import NewPost, schedule_posts
    from runbook.queue.jobs import JobBook
    from runbook.sandbox import SandboxChannel, ensure_account

    db = services.db
    brand = scenario.brand
    ensure_account(db, handle=brand.handle, platform=brand.platform, kind="brand", followers=brand.followers)
    key = f"drill:{scenario.id}:{nonce}:offending"
    receipt = SandboxChannel(db).publish(
        account=brand.handle,
        platform=brand.platform,
        text=scenario.offending.text,
        media=[{"name": m} for m in scenario.offending.media],
        key=key,
    )
    scheduled: list[str] = []
    if scenario.scheduled_posts:
        checker, jobs = Checker(), JobBook(db)
        try:
            now = as_utc(None)
            posts = schedule_posts(
                db,
                [
                    NewPost(
                        account=brand.handle,
                        platform=brand.platform,
                        text=f"Scheduled update {i + 1} from the {brand.handle} team.",
                        run_at=now + timedelta(hours=2 + i),
                        author=requester,
                    )
                    for i in range(scenario.scheduled_posts)
                ],
                checker=checker,
                jobs=jobs,
                actor=requester,
                channel="cli",
            )
            scheduled = [p.id for p in posts]
        finally:
            jobs.close()
            checker.close()
    return key, receipt.ref, scheduled


def run_drill(
    *,
    services: Services,
    scenario: Scenario,
    seed: int = 1,
    speed: float = 12.0,
    playbook: str | None = None,
    policy: Policy | None = None,
    requester: str | None = None,
    timeout: float = 1800,
    on_tick: Any = None,
    on_start: Any = None,
) -> DrillRun:
    """Start the drill and run it until the incident closes (a policy answers the sign-offs when
    given; else people do, through Slack, the CLI or the Prefect UI); returns the finished run."""
    import uuid

    from runbook.engine import demo
    from runbook.listen.refs import post_url
    from runbook.sandbox.tables import posts as post_table

    if not 0.1 <= speed <= 3600:
        raise DrillError(f"--speed must be between 0.1 and 3600, got {speed:g}")
    roster = services.roster()
    if requester is None:
        requester = next((p.id for p in roster.people if p.can_start), None)
        if requester is None:
            raise DrillError("nobody in the roster may start incidents (can_start)")
    playbook_ref = playbook or scenario.playbook
    try:
        known_inputs = set(services.playbook(playbook_ref).inputs)
    except FileNotFoundError as exc:
        raise DrillError(str(exc)) from None
    nonce = uuid.uuid4().hex[:8]
    offending_key, offending_ref, _ = seed_sandbox(services, scenario, nonce=nonce, requester=requester)
    with services.db.connect() as connection:
        created = connection.execute(
            sa.select(post_table.c.created_at).where(post_table.c.key == offending_key)
        ).scalar_one()
    found: dict[str, Any] = {
        "summary": scenario.summary,
        "offending_post": post_url(scenario.brand.handle, offending_ref),
        "account": scenario.brand.handle,
        "accounts": [scenario.brand.handle],
    }
    inputs = {k: v for k, v in found.items() if k in known_inputs}
    run = DrillRun(
        services=services,
        scenario=scenario,
        seed=seed,
        speed=speed,
        clock=Clock(wall_start=as_utc(created), speed=speed),
        offending_key=offending_key,
        offending_ref=offending_ref,
        policy=policy,
        on_start=on_start,
    )
    script = demo.Scenario(
        name=scenario.id,
        story=scenario.title,
        playbook=playbook_ref,
        title=TITLE_PREFIX + scenario.title,
        requester=requester,
        inputs=inputs,
        script={},
    )

    def tick(plan: Any, incident: Any, trail: list[Any]) -> None:
        run.tick(incident, trail)
        if on_tick is not None:
            on_tick(run, plan, incident, trail)

    start_options = {"kind": "drill", "time_scale": speed}
    try:
        if policy is not None:
            from runbook.drill.auto import answer

            incident = demo.play(
                services=services,
                scenario=script,
                on_tick=tick,
                timeout=timeout,
                ask=lambda step, pending, suggestion: answer(run, step=step, pending=pending, suggestion=suggestion),
                start_options=start_options,
            )
        else:
            incident = _follow(services=services, script=script, tick=tick, timeout=timeout, **start_options)
    except demo.DemoError as exc:
        raise DrillError(str(exc)) from None
    run.incident = get_incident(services.db, incident.id)
    run.finish()
    return run


def _follow(*, services: Services, script: Any, tick: Any, timeout: float, **start_options: Any) -> Any:
    """The team plays: start the incident, keep the public going until the incident closes."""
    from runbook.engine import commands

    try:
        begun = commands.start(
            services=services,
            playbook_ref=script.playbook,
            inputs=script.inputs,
            requester=script.requester,
            title=script.title,
            via="cli",
            **start_options,
        )
    except commands.CommandError as exc:
        raise DrillError(str(exc)) from None
    deadline = time.monotonic() + timeout
    while True:
        incident = get_incident(services.db, begun.incident.id)
        if incident is None:
            raise DrillError(f"drill incident {begun.incident.id} no longer exists")
        tick(begun.plan, incident, events(services.db, incident.id))
        if incident.status in ("completed", "failed", "cancelled"):
            return incident
        if time.monotonic() > deadline:
            raise DrillError(f"drill {incident.slug} still open after {timeout:.0f}s")
        time.sleep(0.5)
