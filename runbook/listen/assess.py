"""Impact assessment of an incident window: volume and negatives against what is usual for the
brand at those hours (runbook.listen.spikes.against_usual), reach, press (media authors and
domains), audiences, platforms, what people are upset about (concerns), the offending post's
state and spread, and a severity with the factors (and points) that produced it.

Aggregates run in SQL; the window's texts are read for the audience rules and the concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runbook.audit.models import as_utc
from runbook.listen import audiences, evidence
from runbook.listen.spikes import account_filter, brand_window
from runbook.listen.store import epoch_range
from runbook.listen.tables import mentions
from runbook.ports.assessment import SEVERITIES, Assessment, Severity

__all__ = ["Assessment", "SEVERITIES", "Severity", "assess", "severity_of"]

# Points at which the total reaches each severity (the points: `_factors`).
SEVERITY_AT: dict[Severity, int] = {"critical": 9, "high": 6, "medium": 3}
STAFF_SHARE = 0.05  # this share of mentions talking about staff / a wrong account: staff are involved
AUDIENCE_SHARE = 0.02


def severity_of(score: int) -> Severity:
    for name in SEVERITIES[:0:-1]:  # critical, high, medium
        if score >= SEVERITY_AT[name]:
            return name
    return "low"


def _points(value: float, steps: Sequence[tuple[float, int]]) -> int:
    for limit, points in steps:
        if value >= limit:
            return points
    return 0


def assess(
    engine: Engine,
    *,
    accounts: Sequence[tuple[str | None, str]] | None,
    since: datetime,
    until: datetime,
    window: timedelta = timedelta(hours=1),
    baseline: timedelta = timedelta(days=28),
    offending_ref: str | None = None,
    channel: Any = None,
    involves_staff: bool | None = None,
    media: Sequence[str] | None = None,
    concerns: bool = True,
) -> Assessment:
    """Assess [since, until) for the brand accounts (None: every stored mention)."""
    since, until = as_utc(since), as_utc(until)
    where = brand_window(accounts, since, until)
    with engine.connect() as connection:
        totals = connection.execute(sa.select(sa.func.count(), sa.func.sum(mentions.c.negative)).where(*where)).one()
        volume, negatives = int(totals[0]), int(totals[1] or 0)
        platforms = {
            r[0]: int(r[1])
            for r in connection.execute(
                sa.select(mentions.c.platform, sa.func.count()).where(*where).group_by(mentions.c.platform)
            )
        }
        languages = {
            r[0]: int(r[1])
            for r in connection.execute(
                sa.select(mentions.c.language, sa.func.count()).where(*where).group_by(mentions.c.language)
            )
        }
        per_author = (
            sa.select(
                mentions.c.author, mentions.c.platform, sa.func.max(mentions.c.author_followers).label("followers")
            )
            .where(*where)
            .group_by(mentions.c.author, mentions.c.platform)
            .subquery()
        )
        reach_row = connection.execute(
            sa.select(sa.func.count(), sa.func.sum(per_author.c.followers), sa.func.max(per_author.c.followers))
        ).one()
        texts = connection.execute(sa.select(mentions.c.text, mentions.c.author).where(*where)).all()
    from runbook.listen.concerns import is_media

    media_list = list(media) if media is not None else None
    by_media = [a for t, a in texts if is_media(a, t, media_list)]
    authors, reach, top_reach = int(reach_row[0]), int(reach_row[1] or 0), int(reach_row[2] or 0)
    counts = audiences.count_matches((t, a) for t, a in texts)

    # Velocity and volume against what is usual for this brand at these hours.
    width = window.total_seconds()
    pairs = list(accounts) if accounts else _accounts_in(engine, since=since, until=until)
    usual: dict[str, Any] = {
        "mode": "warm-up",
        "usual": 0.0,
        "usual_negative": 0.0,
        "usual_negative_share": 0.0,
        "peak": volume,
        "peak_usual": 0.0,
        "peak_ratio": 0.0,
    }
    if pairs:
        from runbook.listen.spikes import SpikeRule, against_usual

        usual = against_usual(
            engine,
            pairs,
            since=since,
            until=until,
            rule=SpikeRule(window=window, baseline=max(baseline, timedelta(days=1))),
        )
        last = _count_since(engine, where_accounts=pairs, since=until - window, until=until)
    else:
        last = volume
    base_mean = usual["peak_usual"]
    peak = usual["peak"]
    ratio = usual["peak_ratio"]
    negative_share = negatives / volume if volume else 0.0
    volume_ratio = volume / max(usual["usual"], 1.0)
    negative_ratio = negatives / max(usual["usual_negative"], 1.0)

    post = _offending(
        engine,
        offending_ref,
        channel=channel,
        since=since,
        until=until,
        accounts=pairs,
        screenshots=counts.matches.get("screenshot", 0) if counts.matches else 0,
    )
    staff = (
        involves_staff
        if involves_staff is not None
        else (counts.share("staff") >= STAFF_SHARE and (counts.matches or {}).get("staff", 0) >= 3)
    )
    # Press is who speaks (a media list of handles and link domains), not the word "says".
    groups = [
        a
        for a in audiences.AUDIENCES
        if (a == "staff" and staff)
        or (a == "press" and by_media)
        or (a not in ("staff", "press") and counts.share(a) >= AUDIENCE_SHARE)
    ]
    points, factors = _factors(
        volume=volume,
        usual=usual,
        volume_ratio=volume_ratio,
        negatives=negatives,
        negative_ratio=negative_ratio,
        negative_share=negative_share,
        reach=reach,
        harm=counts.share("harm"),
        media=by_media,
        post=post,
    )
    found = []
    if concerns and volume:
        from runbook.listen.concerns import concerns_in_window

        found = [
            c.summary()
            for c in concerns_in_window(
                engine, accounts=pairs or None, since=since, until=until, media=media_list
            ).concerns
        ]
    score = sum(points.values())
    severity = severity_of(score)
    against = (
        "no usual yet: too little history"
        if usual["mode"] == "warm-up"
        else f"{volume_ratio:.1f}x the usual {usual['usual']:.0f} for these hours"
    )
    share = "" if usual["mode"] == "warm-up" else f" (usually {usual['usual_negative_share']:.0%})"
    summary = (
        f"Severity {severity} ({score} points): {volume} mentions ({against}), "
        f"{negative_share:.0%} negative{share}, reach {reach:,}; audiences: "
        f"{', '.join(groups) or 'none identified'}"
        + ("; staff involved" if staff else "")
        + (f"; concerns: {'; '.join(c['label'] for c in found[:4])}" if found else "")
    )
    # Built by name from this function's computed locals (rounded, converted), not copied from one
    # object; its likeness to audit/store.py's constructor call is shape only.
    return Assessment(
        severity=severity,
        score=score,
        factors=factors,
        factor_points=points,
        involves_staff=bool(staff),
        audiences=groups,
        audience_counts={k: v for k, v in (counts.matches or {}).items()},
        volume=volume,
        peak_window=peak,
        velocity=round(last * 3600 / width, 2),
        baseline=round(base_mean, 3),
        ratio=round(ratio, 2),
        negative_share=round(negative_share, 4),
        reach=reach,
        top_reach=top_reach,
        authors=authors,
        top_authors=evidence.top_authors(engine, pairs, since=since, until=until, limit=5, by="reach"),
        most_engaged=evidence.top_authors(engine, pairs, since=since, until=until, limit=5, by="engagement"),
        platforms=platforms,
        languages=languages,
        offending_post=post,
        post_live=None if post is None else post.get("live"),
        spread=0 if post is None else post["spread"],
        since=since.isoformat(),
        until=until.isoformat(),
        harm_share=round(counts.share("harm"), 4),
        usual_volume=round(usual["usual"], 2),
        volume_ratio=round(volume_ratio, 2),
        usual_negative_share=round(usual["usual_negative_share"], 4),
        negative_ratio=round(negative_ratio, 2),
        baseline_mode=usual["mode"],
        media_mentions=len(by_media),
        media_authors=sorted(set(by_media))[:20],
        concerns=found,
        summary=summary,
    )


def _accounts_in(engine: Engine, *, since: datetime, until: datetime) -> list[tuple[str | None, str]]:
    """The accounts mentioned in the window (the brand's, when the playbook says `all`)."""
    query = sa.select(mentions.c.platform, mentions.c.account).where(*epoch_range(since, until)).distinct().limit(50)
    with engine.connect() as connection:
        return [(r.platform, r.account) for r in connection.execute(query)]


def _count_since(
    engine: Engine, *, where_accounts: Sequence[tuple[str | None, str]], since: datetime, until: datetime
) -> int:
    query = sa.select(sa.func.count()).where(account_filter(where_accounts), *epoch_range(since, until))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def _offending(
    engine: Engine,
    ref: str | None,
    *,
    channel: Any,
    since: datetime,
    until: datetime,
    accounts: Sequence[tuple[str | None, str]] | None,
    screenshots: int,
) -> dict[str, Any] | None:
    """The offending post's state (live?) and spread: answers, reposts and quotes of it, screenshots."""
    if not ref:
        found = evidence.trigger_post(engine, accounts, since=since, until=until)
        if found is None:
            return None
        ref = found["ref"]
    window = [*epoch_range(since, until), mentions.c.in_reply_to == ref]
    with engine.connect() as connection:
        kinds = {
            r[0]: int(r[1])
            for r in connection.execute(
                sa.select(mentions.c.kind, sa.func.count()).where(*window).group_by(mentions.c.kind)
            )
        }
    post = evidence.find_post(channel, ref)
    answers = kinds.get("reply", 0) + kinds.get("mention", 0)
    reposts, quotes = kinds.get("repost", 0), kinds.get("quote", 0)
    return {
        "ref": ref,
        "live": None if post is None else post["live"],
        "text": None if post is None else post["text"][:280],
        "answers": answers,
        "reposts": reposts,
        "quotes": quotes,
        "screenshots": screenshots,
        "spread": answers + reposts + quotes + screenshots,
    }


def _factors(
    *,
    volume: int,
    usual: dict[str, Any],
    volume_ratio: float,
    negatives: int,
    negative_ratio: float,
    negative_share: float,
    reach: int,
    harm: float,
    media: Sequence[str],
    post: dict[str, Any] | None,
) -> tuple[dict[str, int], list[str]]:
    """Exposure (how much more than usual) + twice the hostility (how much more negative than usual,
    how harmful) + complaints (how many more negatives than usual) + amplifiers (press, reach, the
    offending post still spreading).

    Every factor is relative to the brand's own usual for these hours, so an ordinary day scores
    0 whatever the brand's size. With too little history (warm-up) exposure falls back to absolute
    volumes and says so. Hostility counts double: a big but friendly conversation (the Red Cross
    beer tweet) is less severe than a smaller hostile one.
    """
    warm = usual["mode"] == "warm-up"
    if warm:
        by_volume = _points(volume, [(5000, 3), (1000, 2), (200, 1)])
    else:
        by_volume = max(
            _points(volume_ratio, [(5, 3), (2.5, 2), (1.5, 1)]),
            _points(usual["peak_ratio"], [(10, 3), (5, 2), (2.5, 1)]),
        )
    rise = negative_share - usual["usual_negative_share"]
    if warm:  # no usual share to rise from: the absolute scale
        by_negative = 0 if negatives < 10 else _points(negative_share, [(0.5, 3), (0.35, 2), (0.25, 1)])
    else:
        by_negative = 0 if negatives < 10 else _points(rise, [(0.35, 3), (0.2, 2), (0.1, 1)])
    # More complaints than usual, growing clearly faster than the conversation (not mockery that
    # merely rides a big, friendly wave).
    complaints = 0 if warm or negatives < 10 or rise < 0.1 else _points(negative_ratio, [(6, 2), (3, 1)])
    by_harm = _points(harm, [(0.2, 3), (0.1, 2), (0.03, 1)])
    live = post is not None and bool(post.get("live")) and post.get("spread", 0) >= 50
    press = len(media) >= 2 or (len(media) >= 1 and volume < 50)
    points = {
        "exposure": by_volume,
        "hostility": 2 * max(by_negative, by_harm),
        "complaints": complaints,
        "press": 1 if press else 0,
        "reach": _points(reach, [(1_000_000, 1)]),
        "post_live": 1 if live else 0,
    }
    factors = []
    if points["exposure"]:
        if warm:
            factors.append(
                f"exposure: {volume} mentions (too little history for this brand's usual: absolute "
                f"scale 200 / 1,000 / 5,000) (+{points['exposure']})"
            )
        else:
            factors.append(
                f"exposure: {volume} mentions, {volume_ratio:.1f}x the usual {usual['usual']:.0f} for "
                f"these hours; peak window {usual['peak']} at {usual['peak_ratio']:.1f}x its usual "
                f"{usual['peak_usual']:.0f} (+{points['exposure']})"
            )
    if points["hostility"] and warm:
        factors.append(
            f"hostility: {negative_share:.0%} negative (too little history for a usual share: absolute "
            f"scale 25 / 35 / 50%), {harm:.0%} naming offensive or sensitive subjects "
            f"(+{points['hostility']})"
        )
    elif points["hostility"]:
        factors.append(
            f"hostility: {negative_share:.0%} negative against a usual {usual['usual_negative_share']:.0%}"
            f" ({negative_ratio:.1f}x the usual negatives), {harm:.0%} naming offensive or sensitive "
            f"subjects (+{points['hostility']})"
        )
    if points["complaints"]:
        factors.append(
            f"complaints: {negatives} negative mentions, {negative_ratio:.1f}x the usual "
            f"{usual['usual_negative']:.0f} for these hours (+{points['complaints']})"
        )
    if points["press"]:
        names = ", ".join(sorted(set(media))[:5])
        factors.append(f"press: {len(media)} mentions by media ({names}) (+1)")
    if points["reach"]:
        factors.append(f"reach: {reach:,} followers combined (+1)")
    if points["post_live"] and post is not None:  # post_live needs a post
        factors.append(
            f"the offending post is still live and spreading ({post['spread']} answers, reposts and screenshots) (+1)"
        )
    return {k: v for k, v in points.items() if v}, factors
