"""The brand as messages see it: name, values, voice and audience (the `brand:` section of
brand.yaml) next to the publishing policy the checks apply (the rest of the same file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from runbook.checks import Policy, PolicyError, load_policy

DEFAULT_BRAND_FILE = Path("brand.yaml")


class BrandValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # Words that count as referring to this value in a statement (the values check looks for them).
    words: list[str] = []
    say: str = ""  # how templates phrase it ("the safety and respect of every passenger")

    def all_words(self) -> list[str]:
        return [self.name, *self.words]


class BrandProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "our brand"
    values: list[BrandValue] = []
    voice: str = ""
    audience: list[str] = []  # who the brand serves ("passengers", "donors"): the affected-people check
    handles: dict[str, str] = {}  # platform -> the account statements go out on
    signature: str = ""  # appended by templates that want it ("^Sam")
    bots: list[str] = []  # regular expressions of author handles never answered

    @field_validator("values", mode="before")
    @classmethod
    def _plain_values(cls, raw: Any) -> Any:
        # `values: [respect, safety]` is the short form of `values: [{name: respect}, ...]`.
        if isinstance(raw, list):
            return [{"name": v} if isinstance(v, str) else v for v in raw]
        return raw

    def value_words(self) -> list[str]:
        return [w for v in self.values for w in v.all_words()]

    def for_template(self) -> SimpleNamespace:
        """Attributes, not a dict: `brand.values` in a template must not find dict.values()."""
        values = [SimpleNamespace(name=v.name, say=v.say or v.name, words=list(v.words)) for v in self.values]
        return SimpleNamespace(
            name=self.name,
            values=values,
            value_names=[v.name for v in self.values],
            value=values[0].say if values else "",
            voice=self.voice,
            audience=list(self.audience),
            signature=self.signature,
            handles=dict(self.handles),
        )


@dataclass(frozen=True)
class Brand:
    profile: BrandProfile
    policy: Policy

    def account_for(self, platform: str) -> str | None:
        """The account a statement goes out on for `platform`: `brand.handles`, else the only
        brand account the policy lists for that platform."""
        if platform in self.profile.handles:
            return self.profile.handles[platform]
        found = [h for h, a in self.policy.accounts.items() if a.kind == "brand" and platform in a.platforms]
        return found[0] if len(found) == 1 else None

    def own_handles(self) -> list[str]:
        """The brand's accounts as written in brand.yaml (whose mentions a reply step reads)."""
        names = [h for h, a in self.policy.accounts.items() if a.kind == "brand"]
        return list(dict.fromkeys([*names, *self.profile.handles.values()]))

    def own_accounts(self) -> set[str]:
        """The same, casefolded: never answered, whatever the case of a mention's author."""
        return {h.casefold() for h in self.own_handles()}


def brand_from_policy(policy: Policy, *, where: str = "brand.yaml") -> Brand:
    try:
        profile = BrandProfile.model_validate(policy.brand or {})
    except ValidationError as exc:
        problems = "; ".join(f"brand.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{where}: {problems}") from exc
    return Brand(profile=profile, policy=policy)


def load_brand(path: Path | str | None = None) -> Brand:
    """The brand in `path`; ./brand.yaml when it exists; else an empty brand."""
    if path is None and DEFAULT_BRAND_FILE.is_file():
        path = DEFAULT_BRAND_FILE
    target = Path(path) if path is not None else None
    return brand_from_policy(load_policy(target), where=str(target or "brand"))


def resolve_brand(value: Any) -> Brand:
    """What a step finds in `ctx.services.brand`: a Brand, a Policy, a path, or nothing."""
    if isinstance(value, Brand):
        return value
    if isinstance(value, Policy):
        return brand_from_policy(value)
    return load_brand(value)
