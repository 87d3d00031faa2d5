"""Loads playbooks and the roster from files: read safely, validate, cross-check, raise SpecError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from runbook.spec.checks import KindShape, parse_model, validate_playbook
from runbook.spec.errors import SpecError, SpecIssue
from runbook.spec.models import Playbook
from runbook.spec.roster import Roster
from runbook.spec.source import Document, read_document

PLAYBOOK_SUFFIXES = (".yaml", ".yml")


def load_playbook(
    path: str | Path,
    *,
    kinds: Mapping[str, KindShape] | None = None,
    roster: Roster | None = None,
    templates_dir: Path | None = None,
) -> Playbook:
    doc = read_document(Path(path))
    return validate_playbook(doc, kinds=kinds, roster=roster, templates_dir=templates_dir)


def load_roster(path: str | Path) -> Roster:
    doc = read_document(Path(path))
    roster, issues = parse_model(doc, Roster)
    if roster is not None:
        issues.extend(_roster_cross_checks(doc, roster))
    if issues or roster is None:  # an invalid roster always has issues
        raise SpecError(issues)
    return roster


def _roster_cross_checks(doc: Document, roster: Roster) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    ids: dict[str, int] = {}
    slack: dict[str, int] = {}
    team_ids = {t.id for t in roster.teams}
    seen_teams: dict[str, int] = {}
    for n, team in enumerate(roster.teams):
        if team.id in seen_teams:
            out.append(doc.issue(("teams", n, "id"), f"duplicate team id '{team.id}'"))
        seen_teams.setdefault(team.id, n)
    for n, person in enumerate(roster.people):
        if person.id in ids:
            out.append(
                doc.issue(("people", n, "id"), f"duplicate person id '{person.id}' (first at people[{ids[person.id]}])")
            )
        ids.setdefault(person.id, n)
        if person.slack_id:
            if person.slack_id in slack:
                out.append(
                    doc.issue(
                        ("people", n, "slack_id"),
                        f"Slack id {person.slack_id} already belongs to people[{slack[person.slack_id]}]",
                    )
                )
            slack.setdefault(person.slack_id, n)
        for t, team_id in enumerate(person.teams):
            if roster.teams and team_id not in team_ids:
                out.append(doc.issue(("people", n, "teams", t), f"unknown team '{team_id}'; declare it under teams:"))
    for n, person in enumerate(roster.people):
        if person.deputy is not None:
            if person.deputy == person.id:
                out.append(doc.issue(("people", n, "deputy"), "a person cannot be their own deputy"))
            elif person.deputy not in ids:
                out.append(doc.issue(("people", n, "deputy"), f"deputy '{person.deputy}' is not in the roster"))
    return out


def playbook_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expands folders into their playbook files (sorted); files are kept as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out
