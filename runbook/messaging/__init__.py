"""Statements and personal replies (doctrine steps 3-5): sandboxed templates, the doctrine checks,
platform variants, near-duplicate detection, rate-limited sending and the reply tracking table.

Re-exported here: what needs no database. The tracking, publication and step-run modules import
SQLAlchemy and are imported by name where used (a playbook check must not load a database driver).
"""

from __future__ import annotations

from runbook.messaging.brand import Brand, BrandProfile, BrandValue, brand_from_policy, load_brand, resolve_brand
from runbook.messaging.doctrine import MessageChecker, doctrine_pack
from runbook.messaging.errors import MessagingError, OutputTooLarge, ReviewError, StatementBlocked, TemplateProblem
from runbook.messaging.readability import Readability, measure
from runbook.messaging.review import Action, parse_actions
from runbook.messaging.sending import Limiter, RateLimit
from runbook.messaging.similarity import Match, near_duplicates
from runbook.messaging.statement import apply_edits, final_variants
from runbook.messaging.templates import Templates, slack_escape

__all__ = [
    "Action",
    "Brand",
    "BrandProfile",
    "BrandValue",
    "Limiter",
    "Match",
    "MessageChecker",
    "MessagingError",
    "OutputTooLarge",
    "RateLimit",
    "Readability",
    "ReviewError",
    "StatementBlocked",
    "TemplateProblem",
    "Templates",
    "apply_edits",
    "brand_from_policy",
    "doctrine_pack",
    "final_variants",
    "load_brand",
    "measure",
    "near_duplicates",
    "parse_actions",
    "resolve_brand",
    "slack_escape",
]
