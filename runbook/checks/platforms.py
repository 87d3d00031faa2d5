"""Platform limits (rules/platforms.yaml) and how each platform counts a post's length."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from runbook.checks.text import URL_RE

PLATFORMS_FILE = Path(__file__).parent / "rules" / "platforms.yaml"


class PlatformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int
    max_media: int
    min_media: int = 0
    url_length: int | None = None  # every link counts as this many characters
    count: str = "chars"  # or "graphemes"
    handle: str = r"^\S+$"

    def handle_re(self) -> re.Pattern[str]:
        return _compiled(self.handle)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=4)
def load_platforms(path: Path = PLATFORMS_FILE) -> dict[str, PlatformSpec]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return {name: PlatformSpec.model_validate(spec) for name, spec in data.items()}
    except Exception as exc:  # pydantic's message names the field; add the file
        raise ValueError(f"{path}: {exc}") from exc


def platform_names() -> list[str]:
    return list(load_platforms())


def length(text: str, spec: PlatformSpec) -> int:
    if spec.url_length is not None:
        text = URL_RE.sub("x" * spec.url_length, text)
    if spec.count == "graphemes":
        # Close enough to grapheme clusters for a limit check: combining marks, joiners and
        # variation selectors do not start a new visible character.
        return sum(1 for ch in text if not (unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e"))
    return len(text)
