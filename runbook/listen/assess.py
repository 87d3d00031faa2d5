"""Impact assessment of an incident window: volume and velocity against the baseline, negative
share, reach, most engaged authors, audiences, platforms, the offending post's state and spread,
and a severity with the factors (and points) that produced it.

Aggregates run in SQL; only the window's texts are read, once, for the audience rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit.models import as_utc
from runbook.listen import audiences, evidence
from runbook.listen.spikes import account_filter, window_counts
from runbook.listen.store import epoch_of
from runbook.listen.tables import mentions

__all__ = ["Assessment", "SEVERITIES", "assess", "severity_of"]

SEVERITIES = ("low", "medium", "high", "critical")
# Points at which the total reaches each severity (the points: `_factors`).
SEVERITY_AT = {"critical": 10, "high": 7, "medium": 4}
STAFF_SHARE = 0.05  # this share of mentions talking about staff / a wrong account: staff are involved
AUDIENCE_SHARE = 0.02


@dataclass
class Assessment:
    severity: str
    score: int
    factors: list[str]
    factor_points: dict[str, int]
    involves_staff: bool
    audiences: list[str]
    audience_counts: dict[str, int]
    volume: int
    peak_window: int
    velocity: float  # mentions per hour in the last window
    baseline: float  # mean mentions per window over the baseline
    ratio: float  # peak window / baseline
    negative_share: float
    reach: int  # followers of the distinct authors, summed
    top_reach: int
    authors: int
    top_authors: list[dict[str, Any]]
    most_engaged: list[dict[str, Any]]
    platforms: dict[str, int]
    languages: dict[str, int]
    offending_post: dict[str, Any] | None
    post_live: bool | None
    spread: int
    since: str
    until: str
    harm_share: float = 0.0
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


def severity_of(score: int) -> str:
    for name in ("critical", "high", "medium"):
        if score >= SEVERITY_AT[name]:
            return name
    return "low"


def _points(value: float, steps: Sequence[tuple[float, int]]) -> int:
    for limit, points in steps:
        if value >= limit:
            return points
    return 0


def assess(engine: Engine, *, accounts: Sequence[tuple[str | None, str]] | None, since: datetime,
           until: datetime, window: timedelta = timedelta(hours=1), baseline: timedelta = timedelta(days=7),
           offending_ref: str | None = None, channel: Any = None, involves_staff: bool | None = None) -> Assessment:
    """Assess [since, until) for the brand accounts (None: every stored mention)."""
    since, until = as_utc(since), as_utc(until)
    where = [mentions.c.epoch >= epoch_of(since), mentions.c.epoch < epoch_of(until)]
    if accounts:
        where.append(account_filter(accounts))
    with engine.connect() as connection:
        totals = connection.execute(sa.select(sa.func.count(), sa.func.sum(mentions.c.negative)).where(*where)).one()
        volume, negatives = int(totals[0]), int(totals[1] or 0)
        platforms = {r[0]: int(r[1]) for r in connection.execute(
            sa.select(mentions.c.platform, sa.func.count()).where(*where).group_by(mentions.c.platform))}
        languages = {r[0]: int(r[1]) for r in connection.execute(
            sa.select(mentions.c.language, sa.func.count()).where(*where).group_by(mentions.c.language))}
        per_author = (sa.select(mentions.c.author, mentions.c.platform,
                                sa.func.max(mentions.c.author_followers).label("followers"))
                      .where(*where).group_by(mentions.c.author, mentions.c.platform).subquery())
        reach_row = connection.execute(sa.select(sa.func.count(), sa.func.sum(per_author.c.followers),
                                                 sa.func.max(per_author.c.followers))).one()
        texts = connection.execute(sa.select(mentions.c.text, mentions.c.author).where(*where)).all()
    authors, reach, top_reach = int(reach_row[0]), int(reach_row[1] or 0), int(reach_row[2] or 0)
    counts = audiences.count_matches((t, a) for t, a in texts)

    # Velocity: the incident period in windows, against the baseline windows before it.
    width = window.total_seconds()
    periods = max(1, int(-(-(until - since).total_seconds() // width)))
    n_base = int(baseline.total_seconds() // width)
    pairs = list(accounts) if accounts else _accounts_in(engine, since=since, until=until)
    if pairs:
        vols, _negs, _first = window_counts(engine, pairs, start=since - n_base * window, width=window,
                                            count=n_base + periods)
        base_windows, incident_windows = vols[:n_base], vols[n_base:]
        base_mean = sum(base_windows) / len(base_windows) if base_windows else 0.0
        peak = max(incident_windows) if incident_windows else 0
        last = _count_since(engine, where_accounts=pairs, since=until - window, until=until)
    else:
        base_mean, peak, last = 0.0, volume, volume
    ratio = peak / max(base_mean, 1.0)
    negative_share = negatives / volume if volume else 0.0

    post = _offending(engine, offending_ref, channel=channel, since=since, until=until, accounts=pairs,
                      screenshots=counts.matches.get("screenshot", 0) if counts.matches else 0)
    staff = involves_staff if involves_staff is not None else (
        counts.share("staff") >= STAFF_SHARE and (counts.matches or {}).get("staff", 0) >= 3)
    groups = [a for a in audiences.AUDIENCES
              if (a == "staff" and staff) or (a != "staff" and counts.share(a) >= AUDIENCE_SHARE)]
    points, factors = _factors(volume=volume, ratio=ratio, base_mean=base_mean, negative_share=negative_share,
                               reach=reach, harm=counts.share("harm"), press=counts.share("press"), post=post)
    score = sum(points.values())
    severity = severity_of(score)
    result = Assessment(
        severity=severity, score=score, factors=factors, factor_points=points, involves_staff=bool(staff),
        audiences=groups, audience_counts={k: v for k, v in (counts.matches or {}).items()},
        volume=volume, peak_window=peak, velocity=round(last * 3600 / width, 2), baseline=round(base_mean, 3),
        ratio=round(ratio, 2), negative_share=round(negative_share, 4), reach=reach, top_reach=top_reach,
        authors=authors,
        top_authors=evidence.top_authors(engine, pairs, since=since, until=until, limit=5, by="reach"),
        most_engaged=evidence.top_authors(engine, pairs, since=since, until=until, limit=5, by="engagement"),
        platforms=platforms, languages=languages, offending_post=post,
        post_live=None if post is None else post.get("live"), spread=0 if post is None else post["spread"],
        since=since.isoformat(), until=until.isoformat(), harm_share=round(counts.share("harm"), 4))
    result.summary = (f"Severity {severity} ({score} points): {volume} mentions, peak {peak} per "
                      f"{int(width // 60)}m ({result.ratio}x baseline), {negative_share:.0%} negative, reach "
                      f"{reach:,}; audiences: {', '.join(groups) or 'none identified'}"
                      + ("; staff involved" if staff else ""))
    return result


def _accounts_in(engine: Engine, *, since: datetime, until: datetime) -> list[tuple[str | None, str]]:
    """The accounts mentioned in the window (the brand's, when the playbook says `all`)."""
    query = (sa.select(mentions.c.platform, mentions.c.account).where(
        mentions.c.epoch >= epoch_of(since), mentions.c.epoch < epoch_of(until)).distinct().limit(50))
    with engine.connect() as connection:
        return [(r.platform, r.account) for r in connection.execute(query)]


def _count_since(engine: Engine, *, where_accounts: Sequence[tuple[str | None, str]], since: datetime,
                 until: datetime) -> int:
    query = sa.select(sa.func.count()).where(account_filter(where_accounts), mentions.c.epoch >= epoch_of(since),
                                             mentions.c.epoch < epoch_of(until))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def _offending(engine: Engine, ref: str | None, *, channel: Any, since: datetime, until: datetime,
               accounts: Sequence[tuple[str | None, str]] | None, screenshots: int) -> dict[str, Any] | None:
    """The offending post's state (live?) and spread: answers, reposts and quotes of it, screenshots."""
    if not ref:
        found = evidence.trigger_post(engine, accounts, since=since, until=until)
        if found is None:
            return None
        ref = found["ref"]
    window = [mentions.c.epoch >= epoch_of(since), mentions.c.epoch < epoch_of(until), mentions.c.in_reply_to == ref]
    with engine.connect() as connection:
        kinds = {r[0]: int(r[1]) for r in connection.execute(
            sa.select(mentions.c.kind, sa.func.count()).where(*window).group_by(mentions.c.kind))}
    post = evidence.find_post(channel, ref)
    answers = kinds.get("reply", 0) + kinds.get("mention", 0)
    reposts, quotes = kinds.get("repost", 0), kinds.get("quote", 0)
    return {"ref": ref, "live": None if post is None else post["live"],
            "text": None if post is None else post["text"][:280], "answers": answers, "reposts": reposts,
            "quotes": quotes, "screenshots": screenshots, "spread": answers + reposts + quotes + screenshots}


def _factors(*, volume: int, ratio: float, base_mean: float, negative_share: float, reach: int, harm: float,
             press: float, post: dict[str, Any] | None) -> tuple[dict[str, int], list[str]]:
    """Exposure (how much, how fast) + twice the hostility (how negative, how harmful) + amplifiers.

    Hostility counts double: a big but friendly conversation (the Red Cross beer tweet) is less
    severe than a smaller hostile one. Amplifiers: press, reach, the offending post still spreading.
    """
    by_volume = _points(volume, [(5000, 3), (1000, 2), (200, 1)])
    by_velocity = _points(ratio, [(30, 3), (10, 2), (3, 1)])
    by_negative = _points(negative_share, [(0.35, 3), (0.25, 2), (0.15, 1)])
    by_harm = _points(harm, [(0.2, 3), (0.1, 2), (0.03, 1)])
    live = post is not None and bool(post.get("live")) and post.get("spread", 0) >= 50
    points = {
        "exposure": max(by_volume, by_velocity),
        "hostility": 2 * max(by_negative, by_harm),
        "press": _points(press, [(0.05, 1)]),
        "reach": _points(reach, [(1_000_000, 1)]),
        "post_live": 1 if live else 0,
    }
    factors = []
    if points["exposure"]:
        factors.append(f"exposure: {volume} mentions, peak window at {ratio:.1f}x the baseline "
                       f"({base_mean:.1f} per window) (+{points['exposure']})")
    if points["hostility"]:
        factors.append(f"hostility: {negative_share:.0%} negative, {harm:.0%} naming offensive or sensitive "
                       f"subjects (+{points['hostility']})")
    if points["press"]:
        factors.append(f"press: {press:.0%} of mentions read as coverage (+1)")
    if points["reach"]:
        factors.append(f"reach: {reach:,} followers combined (+1)")
    if points["post_live"]:
        factors.append(f"the offending post is still live and spreading ({post['spread']} answers, reposts "
                       "and screenshots) (+1)")
    return {k: v for k, v in points.items() if v}, factors
