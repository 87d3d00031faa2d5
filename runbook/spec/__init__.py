"""The playbook language: models, a safe YAML reader with positions, validation and cross-checks.

Pure pydantic + YAML + Jinja2: no Prefect, Slack or database imports, so a playbook checks in
milliseconds.
"""

from runbook.spec.durations import Duration, format_duration, parse_duration
from runbook.spec.errors import SpecError, SpecIssue
from runbook.spec.loader import load_playbook, load_roster, playbook_files
from runbook.spec.models import FieldType, InputError, InputField, Playbook, Signoff, Step, TemplatePath
from runbook.spec.roster import Person, Roster, Team

__all__ = [
    "Duration",
    "FieldType",
    "InputError",
    "InputField",
    "Person",
    "Playbook",
    "Roster",
    "Signoff",
    "SpecError",
    "SpecIssue",
    "Step",
    "Team",
    "TemplatePath",
    "format_duration",
    "load_playbook",
    "load_roster",
    "parse_duration",
    "playbook_files",
]
