"""Checks one write against a platform's limits (the Limits of the Channel port), with the
character counting of runbook.checks.platforms."""

from __future__ import annotations

from typing import Any

from runbook.checks.platforms import PlatformSpec, length
from runbook.ports.channel import Limits

__all__ = ["check_limits"]


def check_limits(limits: Limits, *, text: str, media: list[dict[str, Any]] | None = None) -> list[str]:
    """Problems of one write against `limits`, one line each; empty when it fits. A text longer
    than one post is a problem only where the adapter cannot thread it."""
    spec = PlatformSpec(
        max_chars=limits.max_chars, max_media=limits.max_media, count=limits.count, url_length=limits.url_length
    )
    problems: list[str] = []
    size = length(text, spec)
    if not text.strip() and not media:
        problems.append(f"{limits.platform}: the post is empty")
    if size > limits.max_chars and not limits.threads:
        problems.append(f"{limits.platform}: {size} {limits.count} over the limit of {limits.max_chars}")
    count = len(media or [])
    if count > limits.max_media:
        problems.append(f"{limits.platform}: {count} media over the limit of {limits.max_media}")
    if limits.media_types:
        for n, item in enumerate(media or []):
            kind = str(item.get("type") or item.get("mime") or "")
            if kind and kind not in limits.media_types:
                problems.append(
                    f"{limits.platform}: media[{n}] type {kind!r} not accepted ({', '.join(limits.media_types)})"
                )
    return problems
