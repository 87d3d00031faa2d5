"""The brand's publishing policy the checks apply: reviewed hashtags, the asset library, which
accounts exist and who may post on each, link checking. Read from a YAML file (brand.yaml).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runbook.checks.media import library_hashes
from runbook.errors import InvalidSpec


class AccountPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["brand", "personal"] = "brand"
    platforms: list[str] = []
    authors: list[str] | None = None  # None: anyone may post


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_language: Literal["en", "nl"] = "en"
    reviewed_hashtags: list[str] = []
    asset_library: Path | None = None
    asset_hashes: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = []
    accounts: dict[str, AccountPolicy] = {}
    link_checks: bool = True
    link_timeout: Annotated[float, Field(gt=0, le=30)] = 3.0
    link_shorteners: list[str] = ["t.co", "bit.ly", "buff.ly", "ow.ly", "lnkd.in", "tinyurl.com"]
    spelling_ignore: list[str] = []
    # The brand's identity (name, values, voice): read and validated by runbook.messaging.brand.
    brand: dict[str, Any] = {}

    @cached_property
    def reviewed(self) -> frozenset[str]:
        return frozenset(tag.lstrip("#").casefold() for tag in self.reviewed_hashtags)

    @cached_property
    def assets(self) -> frozenset[str]:
        hashes = set(self.asset_hashes)
        if self.asset_library is not None:
            hashes |= library_hashes(self.asset_library)
        return frozenset(hashes)

    def account_kind(self, handle: str) -> str:
        # An account the policy does not know is treated as a brand account: the safe side.
        account = self.accounts.get(handle)
        return account.kind if account else "brand"


class PolicyError(InvalidSpec, ValueError):
    pass


def load_policy(path: Path | None) -> Policy:
    """The policy in `path`; an empty policy when `path` is None. Relative library paths are
    resolved against the file's folder."""
    if path is None:
        return Policy()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping at the top level")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{path}: {problems}") from exc
    if policy.asset_library is not None and not policy.asset_library.is_absolute():
        policy = policy.model_copy(update={"asset_library": path.parent / policy.asset_library})
    if policy.asset_library is not None and not policy.asset_library.is_dir():
        raise PolicyError(f"{path}: asset_library {policy.asset_library} is not a folder")
    return policy
