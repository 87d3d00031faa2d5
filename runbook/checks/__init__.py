"""Pre-publish checks (doctrine step 6): rule packs in YAML per language, built-in matchers for
links, media, accounts, platform limits and spelling, and the `Checker` that runs them.
"""

from __future__ import annotations

from runbook.checks.checker import Checker
from runbook.checks.links import LinkProber, LinkStatus
from runbook.checks.media import hash_file, media_refs
from runbook.checks.model import CheckResult, Draft, Finding, MediaRef
from runbook.checks.packs import Pack, PackError, load_pack, pack_for, parse_pack
from runbook.checks.policy import AccountPolicy, Policy, PolicyError, load_policy

__all__ = [
    "AccountPolicy",
    "CheckResult",
    "Checker",
    "Draft",
    "Finding",
    "LinkProber",
    "LinkStatus",
    "MediaRef",
    "Pack",
    "PackError",
    "Policy",
    "PolicyError",
    "hash_file",
    "load_pack",
    "load_policy",
    "media_refs",
    "pack_for",
    "parse_pack",
]
