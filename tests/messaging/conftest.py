"""Messaging test fixtures: databases (shared with the queue tests), a brand (name, values,
accounts), a checker without network, step contexts over a real incident, and a DiGiorno storm
on the sandbox network ingested through the listening store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runbook import audit
from runbook.audit.models import as_utc
from runbook.checks import Checker, Policy
from runbook.messaging.brand import Brand, brand_from_policy
from runbook.sandbox import SandboxChannel
from runbook.steps.base import StepContext, StepServices
from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401

REPO = Path(__file__).parents[2]
TEMPLATES = REPO / "templates"

BRANDS = {
    "social-media-mistake": {
        "name": "US Airways",
        "handle": "USAirways",
        "values": [{"name": "respect", "words": ["respectful"]}, {"name": "safety"}],
        "audience": ["passengers", "customers"],
    },
    "wrong-account-post": {
        "name": "the American Red Cross",
        "handle": "RedCross",
        "values": [{"name": "care", "say": "helping people in need", "words": ["helping"]}],
        "audience": ["donors", "volunteers"],
    },
    "hashtag-misuse": {
        "name": "DiGiorno",
        "handle": "DiGiorno",
        "values": [{"name": "respect"}],
        "audience": ["customers"],
    },
}


def make_brand(case: str = "hashtag-misuse") -> Brand:
    spec = BRANDS[case]
    policy = Policy(
        accounts={spec["handle"]: {"kind": "brand", "platforms": ["x", "facebook", "linkedin", "instagram"]}},
        link_checks=False,
        brand={
            "name": spec["name"],
            "values": spec["values"],
            "audience": spec["audience"],
            "handles": {"x": spec["handle"], "facebook": spec["handle"], "linkedin": spec["handle"]},
        },
    )
    return brand_from_policy(policy)


@pytest.fixture
def brand() -> Brand:
    return make_brand()


@pytest.fixture
def checker(brand: Brand) -> Iterator[Checker]:
    made = Checker(brand.policy, links=False)
    yield made
    made.close()


@pytest.fixture
def incident(engine):  # noqa: ANN001, ANN201, F811
    return audit.create_incident(
        engine,
        playbook_id="hashtag-misuse",
        playbook_version=1,
        inputs={"hashtag": "#WhyIStayed", "summary": "pizza joke on #WhyIStayed"},
        requester="ana",
        title="We joined #WhyIStayed with a pizza joke",
    )


def step_context(
    engine: Any,
    incident: Any,
    step_id: str,
    *,
    steps: dict[str, Any] | None = None,
    decision: dict[str, Any] | None = None,
    **services: Any,
) -> StepContext:
    def record(action: str, details: Any = None) -> None:
        audit.append(
            engine,
            incident_id=incident.id,
            actor="system",
            channel="flow",
            action=action,
            step=step_id,
            details=dict(details or {}),
        )

    return StepContext(
        incident_id=incident.id,
        incident_slug=incident.slug,
        requester="ana",
        step_id=step_id,
        inputs=dict(incident.inputs),
        steps=steps if steps is not None else {},
        audit=record,
        decision=decision,
        services=step_services(engine, **services),
    )


def step_services(engine: Any, **services: Any) -> StepServices:
    """What the engine gives a kind, over the sandbox network unless a test names another channel."""
    services.setdefault("channel", SandboxChannel(engine))
    return StepServices(db=engine, templates_dir=TEMPLATES, **services)


def actions(engine: Any, incident: Any, step: str | None = None) -> list[str]:
    return [e.action for e in audit.events(engine, incident.id) if step is None or e.step == step]


def storm_start(hours: int = 30):
    """A storm that started long enough ago for all its mentions to be in the past."""
    return as_utc(None) - timedelta(hours=hours)


def load_digiorno(engine: Any, count: int, *, seed: int = 1) -> Any:
    """The DiGiorno storm on the sandbox network, ingested into the listening store."""
    from runbook.listen.ingest import ingest_channel
    from runbook.sandbox import SandboxChannel, load_storm

    storm = load_storm(engine, "digiorno", mentions_count=count, seed=seed, start=storm_start())
    ingest_channel(engine, SandboxChannel(engine), source="sandbox", account=storm.account)
    return storm


def reply_params(**overrides: Any) -> Any:
    from runbook.steps.reply_individually import KIND

    base = {
        "template": "replies/hashtag-misuse.en.j2",
        "template_nl": "replies/hashtag-misuse.nl.j2",
        "since": storm_start(31),
        "rate_limit": "1000/1s",
        "batch_size": 2000,
    }
    return KIND.params.model_validate(base | overrides)


def distinct_people(engine: Any, account: str = "DiGiorno") -> set[str]:
    from runbook.sandbox import SandboxChannel

    items = SandboxChannel(engine).mentions(account, limit=1_000_000).items
    return {m.author.casefold() for m in items}


def replies_by_person(engine: Any) -> dict[str, int]:
    """How many replies the sandbox network holds per person answered (by the mention replied to)."""
    import sqlalchemy as sa

    from runbook.sandbox.tables import mentions, posts

    with engine.connect() as connection:
        rows = (
            connection.execute(
                sa.select(mentions.c.author).select_from(
                    posts.join(
                        mentions, sa.literal("m", sa.String) + sa.cast(mentions.c.id, sa.String) == posts.c.in_reply_to
                    )
                )
            )
            .scalars()
            .all()
        )
    counts: dict[str, int] = {}
    for author in rows:
        counts[author.casefold()] = counts.get(author.casefold(), 0) + 1
    return counts
