"""What people were upset about, for the post-mortem: the concerns the impact assessment found
(assess_impact's outputs, as recorded in the verified trail), and their Markdown section."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConcernRow", "concerns_from", "concerns_md"]


class ConcernRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str = Field(description="Its most distinctive words")
    size: int = Field(description="Negative mentions in it")
    negative_share: float = Field(description="Share of negative mentions of all mentions about it")
    samples: list[str]
    top_authors: list[str] = Field(description="By reach")
    step: str = Field(description="The assess_impact step that found it")
    seq: int = Field(description="Evidence: the step.finished event")


def concerns_from(facts: Any) -> list[ConcernRow]:
    """The concerns of the last finished assess_impact step (empty when none recorded them)."""
    found = (
        [s for s in facts.steps.values() if s.uses == "assess_impact" and s.finished is not None]
        if hasattr(facts, "steps")
        else []
    )
    if not found:
        return []
    step = found[-1]
    out = []
    for c in (step.finished.details.get("outputs") or {}).get("concerns") or []:
        try:
            out.append(
                ConcernRow(
                    id=str(c["id"]),
                    label=str(c["label"]),
                    size=int(c["size"]),
                    negative_share=float(c.get("negative_share", 0.0)),
                    samples=[str(s)[:280] for s in (c.get("samples") or [])[:3]],
                    top_authors=[str(a.get("author")) for a in (c.get("top_authors") or [])[:3]],
                    step=step.id,
                    seq=step.finished.seq,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry is left out, not a broken report
    return out


def concerns_md(report: Any) -> list[str]:
    from runbook.postmortem.render_md import _table, md

    rows = getattr(report, "concerns", None)
    if not rows:
        return []
    table = [
        [
            md(f"{c.id} {c.label}"),
            str(c.size),
            f"{c.negative_share:.0%}",
            md(", ".join(c.top_authors)),
            md(c.samples[0][:120] if c.samples else ""),
            str(c.seq),
        ]
        for c in rows
    ]
    return (
        ["## What people were upset about", ""]
        + _table(["concern", "mentions", "negative", "top authors", "example", "evidence (seq)"], table)
        + [""]
    )
