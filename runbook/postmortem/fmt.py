"""Words and numbers as every renderer prints them: durations, metric values with their status,
seq lists as ranges, and the metric labels grouped the way the report presents them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from runbook.postmortem.model import Metric

METRIC_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Response times",
        [
            ("duration", "Duration"),
            ("time_to_detect", "Time to detect"),
            ("time_to_freeze", "Time to freeze the queue"),
            ("time_to_first_statement", "Time to first statement"),
        ],
    ),
    (
        "Post queue",
        [
            ("posts_frozen", "Posts frozen"),
            ("posts_released", "Posts released"),
            ("posts_rescheduled", "Posts rescheduled"),
            ("posts_killed", "Posts killed"),
        ],
    ),
    ("Statement", [("statement_drafts", "Statement drafts"), ("statement_edits", "Statement edits")]),
    (
        "Sign-off times",
        [
            ("signoffs", "Sign-offs asked"),
            ("signoff_wait_median", "Median sign-off wait"),
            ("signoff_wait_max", "Longest sign-off wait"),
            ("refused_attempts", "Refused attempts"),
            ("escalations", "Escalations"),
        ],
    ),
    (
        "Replies",
        [
            ("replies_to_answer", "People to answer"),
            ("replies_answered", "Answered"),
            ("replies_skipped", "Skipped"),
            ("replies_failed", "Failed"),
            ("reply_time_median", "Median time to answer"),
            ("reply_time_p90", "p90 time to answer"),
            ("reply_coverage", "Coverage"),
        ],
    ),
    ("Review", [("deviations", "Deviations"), ("follow_ups", "Policy follow-ups")]),
]

STATUS_WORDS = {
    "not_recorded": "not recorded",
    "withheld": "withheld (trail failed verification)",
    "pending": "pending (still running)",
}
DOCTRINE_WORDS = {"done": "done", "partial": "partly done", "not_done": "not done", "not_recorded": "not recorded"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    sign, s = ("-" if seconds < 0 else ""), abs(int(round(seconds)))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def offset(seconds: float | None) -> str:
    return "" if seconds is None else ("+" if seconds >= 0 else "") + duration(seconds)


def value(metric: Metric) -> str:
    if metric.status != "ok" or metric.value is None:
        return STATUS_WORDS.get(metric.status, metric.status)
    if metric.unit == "seconds":
        return duration(metric.value)
    if metric.unit == "percent":
        return f"{metric.value:g}%"
    return f"{metric.value:g}"


def when(ts: datetime | None) -> str:
    return "—" if ts is None else ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(ts: datetime) -> str:
    return ts.strftime("%H:%M:%S")


def increasing(numbers: Sequence[int]) -> bool:
    return all(a < b for a, b in zip(numbers, itertools.islice(numbers, 1, None)))


def seqs(numbers: Sequence[int], *, limit: int = 12) -> str:
    """3, 5–9, 12 … (+N more): evidence stays readable when a million events back a number. Read in
    one pass without a copy when already in order (the people's evidence arrays)."""
    if not numbers:
        return ""
    ordered = numbers if increasing(numbers) else sorted(set(numbers))
    ranges: list[tuple[int, int]] = []
    more = 0
    start = end = ordered[0]
    for number in itertools.islice(ordered, 1, None):
        if number == end + 1:
            end = number
            continue
        if len(ranges) < limit:
            ranges.append((start, end))
        else:
            more += 1
        start = end = number
    if len(ranges) < limit:
        ranges.append((start, end))
    else:
        more += 1
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges]
    return ", ".join(parts) + (f" … (+{more} more)" if more else "")
