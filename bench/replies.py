"""Individual replies benchmark: personal drafts rendered and checked per second (target: 10,000
in under 10 s; the complaint sentence is chosen by the customer-care model), near-duplicate
detection time for those 10,000 drafts, the first round of the step (gather with the answer
filter and the concern grouping, draft, flag), and send throughput against the sandbox network
under a configured rate limit (checked: never more than N in any window).
Prints the figures and writes bench/results/replies.json.

    .venv/bin/python bench/replies.py [--drafts 10000] [--rate 50/1s] [--sends 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from bisect import bisect_left
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared import write_results  # noqa: E402
from runbook import audit  # noqa: E402
from runbook.audit.models import as_utc  # noqa: E402
from runbook.checks import Policy  # noqa: E402
from runbook.db import dispose_engines, init_db, make_engine  # noqa: E402
from runbook.messaging.audience import AudienceFilter, Heard, people_from  # noqa: E402
from runbook.messaging.brand import brand_from_policy  # noqa: E402
from runbook.messaging.context import base_context  # noqa: E402
from runbook.messaging.doctrine import MessageChecker  # noqa: E402
from runbook.messaging.replies import ReplyDrafter, flag_near_duplicates  # noqa: E402
from runbook.messaging.sending import RateLimit  # noqa: E402
from runbook.messaging.templates import Templates  # noqa: E402
from runbook.sandbox import SandboxChannel, generate  # noqa: E402

TEMPLATES = ROOT / "templates"
TARGET_DRAFT_SECONDS = 10.0


def brand():  # noqa: ANN201
    return brand_from_policy(
        Policy(
            accounts={"DiGiorno": {"kind": "brand", "platforms": ["x"]}},
            link_checks=False,
            brand={"name": "DiGiorno", "values": [{"name": "respect"}], "handles": {"x": "DiGiorno"}},
        )
    )


def people(count: int) -> list:
    """`count` distinct people from a DiGiorno storm (each with their own words and language)."""
    start = as_utc(None) - timedelta(days=2)
    storm = generate("digiorno", mentions_count=int(count * 3), seed=7, start=start)
    heard = [
        Heard(
            ref=f"m{i}",
            platform="x",
            account="DiGiorno",
            author=m.author,
            text=m.text,
            created_at=m.created_at,
            language=m.meta["lang"],
        )
        for i, m in enumerate(storm)
    ]
    found = people_from(heard, AudienceFilter.build(own_accounts={"digiorno"}))
    if len(found) < count:
        raise SystemExit(f"the storm gave {len(found)} people, fewer than {count}")
    return found[:count]


def rows_of(found: list) -> list:
    return [
        # Stand-ins for messaging_reply rows, each attribute named from the Person: the drafter reads them
        # without a database. The likeness duplicates finds with demo.py's approve(...) call is layout only.
        SimpleNamespace(
            id=i,
            author=p.author,
            platform=p.platform,
            language=p.language,
            concern=p.concern,
            said=p.said,
            person=p.key,
            mention_refs=[m.ref for m in p.mentions],
            account="DiGiorno",
            status="drafted",
            text=None,
            draft=None,
        )
        for i, p in enumerate(found, start=1)
    ]


def bench_drafts(count: int) -> dict:
    b = brand()
    rows = rows_of(people(count))
    with MessageChecker(b, links=False) as checker:
        base = base_context(
            incident={"id": "i", "slug": "bench"}, inputs={"hashtag": "#WhyIStayed"}, steps={}, brand=b, language="en"
        ) | {"statement": {"url": "", "urls": []}}
        drafter = ReplyDrafter(
            templates=Templates(TEMPLATES),
            checker=checker,
            base=base,
            template_for={"en": "replies/hashtag-misuse.en.j2", "nl": "replies/hashtag-misuse.nl.j2"},
        )
        for language in ("en", "nl"):  # loads the dictionaries and packs once, as a running worker has
            drafter.draft(next(r for r in rows if r.language == language))
        started = time.perf_counter()
        drafted = [drafter.draft(r) for r in rows]
        seconds = time.perf_counter() - started
    for row, d in zip(rows, drafted, strict=True):
        row.text = d.text
    started = time.perf_counter()
    flagged = flag_near_duplicates(rows, threshold=0.8)
    dup_seconds = time.perf_counter() - started
    return {
        "drafts": count,
        "seconds": round(seconds, 3),
        "drafts_per_s": round(count / seconds),
        "distinct_texts": len({d.text for d in drafted}),
        "blocked": sum(d.blocked for d in drafted),
        "near_duplicate_seconds": round(dup_seconds, 3),
        "near_duplicates_flagged": len(flagged),
        "meets_target": seconds < TARGET_DRAFT_SECONDS,
    }


def max_in_window(times: list[float], per: float) -> int:
    times = sorted(times)
    return max((bisect_left(times, t + per) - i for i, t in enumerate(times)), default=0)


def bench_send(rate: str, sends: int) -> dict:
    from runbook.listen.ingest import ingest_channel
    from runbook.sandbox import load_storm
    from runbook.sandbox.tables import posts
    from runbook.steps.base import StepContext, StepServices
    from runbook.steps.reply_individually import KIND

    limit = RateLimit.parse(rate)
    folder = tempfile.mkdtemp(prefix="bench-replies-")
    engine = make_engine(f"sqlite:///{folder}/bench.db")
    init_db(engine)
    start = as_utc(None) - timedelta(hours=30)
    load_storm(engine, "digiorno", mentions_count=int(sends * 2.4), seed=3, start=start)
    ingest_channel(engine, SandboxChannel(engine), source="sandbox", account="DiGiorno")
    incident = audit.create_incident(
        engine, playbook_id="hashtag-misuse", playbook_version=1, inputs={}, requester="ana", title="bench"
    )
    params = KIND.params.model_validate(
        {
            "template": "replies/hashtag-misuse.en.j2",
            "template_nl": "replies/hashtag-misuse.nl.j2",
            "since": start,
            "rate_limit": rate,
            "batch_size": 2000,
        }
    )

    def ctx(decision=None) -> StepContext:  # noqa: ANN001
        # The tests build step contexts the same way (tests/listen/conftest.py); bench imports no tests.
        return StepContext(
            incident_id=incident.id,
            incident_slug=incident.slug,
            requester="ana",
            step_id="replies",
            inputs={},
            steps={},
            decision=decision,
            audit=lambda a, d=None: audit.append(
                engine,
                incident_id=incident.id,
                actor="system",
                channel="flow",
                action=a,
                step="replies",
                details=dict(d or {}),
            ),
            services=StepServices(db=engine, channel=SandboxChannel(engine), templates_dir=TEMPLATES, brand=brand()),
        )

    started = time.perf_counter()
    first = KIND.run(ctx(), params)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    done = KIND.run(ctx({"actions": "", "approve_flagged": True, "person": "bench"}), params)
    seconds = time.perf_counter() - started
    import sqlalchemy as sa

    with engine.connect() as connection:
        stored = [
            as_utc(t).timestamp()
            for t in connection.execute(sa.select(posts.c.created_at).where(posts.c.in_reply_to.is_not(None))).scalars()
        ]
    dispose_engines()
    sent = done.sent
    return {
        "rate_limit": rate,
        "people": first.people,
        "filtered": first.filtered,
        "concern_groups": len(first.groups),
        "first_round_seconds": round(first_seconds, 3),
        "sent": sent,
        "seconds": round(seconds, 3),
        "sends_per_s": round(sent / seconds, 2),
        "limit_per_s": round(limit.count / limit.per, 2),
        "max_in_any_window": max_in_window(stored, limit.per),
        "window_seconds": limit.per,
        "limit_respected": max_in_window(stored, limit.per) <= limit.count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--rate", default="50/1s")
    parser.add_argument("--sends", type=int, default=500)
    args = parser.parse_args()
    results: dict = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()}
    }
    results["drafts"] = bench_drafts(args.drafts)
    d = results["drafts"]
    print(
        f"drafts: {d['drafts']} personal drafts rendered and checked in {d['seconds']} s "
        f"({d['drafts_per_s']}/s; target < {TARGET_DRAFT_SECONDS:g} s: {'met' if d['meets_target'] else 'MISSED'}); "
        f"{d['distinct_texts']} distinct texts"
    )
    print(
        f"near-duplicates: {d['near_duplicate_seconds']} s for {d['drafts']} drafts, "
        f"{d['near_duplicates_flagged']} flagged"
    )
    results["send"] = bench_send(args.rate, args.sends)
    s = results["send"]
    f = s["filtered"]
    print(
        f"first round: {s['first_round_seconds']} s to gather {f.get('people')} people (filter "
        f"'{f.get('rule')}' kept {f.get('kept')}), group them into {s['concern_groups']} concerns, draft and flag"
    )
    print(
        f"send: {s['sent']} replies in {s['seconds']} s = {s['sends_per_s']}/s with limit {s['rate_limit']} "
        f"({s['limit_per_s']}/s); at most {s['max_in_any_window']} in any {s['window_seconds']:g} s window: "
        f"{'respected' if s['limit_respected'] else 'EXCEEDED'}"
    )
    results["measured_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
    write_results(ROOT / "bench" / "results" / "replies.json", results)


if __name__ == "__main__":
    main()
