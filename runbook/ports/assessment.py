"""The impact assessment of an incident: what `runbook.listen.assess` computes and what the
`assess_impact` step outputs (`steps.<id>.outputs`), one type for both. Pydantic only, so the step
registry loads it without the database."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SEVERITIES", "Assessment", "Severity"]

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


class Assessment(BaseModel):
    """The assessment, and the outputs of the `assess_impact` step (`steps.<id>.outputs`): later
    `when:` conditions and templates read these fields."""

    model_config = ConfigDict(extra="allow")  # as every step's outputs (runbook.steps.base.Outputs)

    severity: Severity
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
    harm_share: float
    usual_volume: float = 0.0  # the same period on earlier days (median)
    volume_ratio: float = 0.0  # volume / usual volume
    usual_negative_share: float = 0.0
    negative_ratio: float = 0.0  # negatives / usual negatives
    baseline_mode: str = ""  # hour_of_day | hour_of_week | warm-up (too little history: absolute scales)
    media_mentions: int = 0
    media_authors: list[str] = Field(default_factory=list)
    concerns: list[dict[str, Any]] = Field(default_factory=list)  # what people are upset about: id, label, ...
    since: str
    until: str
    summary: str
