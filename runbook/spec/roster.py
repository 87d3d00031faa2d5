"""The roster: who is who (people, Slack ids, roles, teams, deputies) and the queries sign-offs need."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from runbook.spec.models import IDENT, Strict

PersonId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
SlackUserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,20}$")]
Name = Annotated[str, StringConstraints(pattern=IDENT, max_length=64)]


class Person(Strict):
    id: PersonId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Email | None = None
    slack_id: SlackUserId | None = None
    roles: list[Name] = []
    teams: list[Name] = []
    deputy: PersonId | None = None
    # May this person start an incident (from the CLI or /crisis)? Everyone on the roster by default.
    can_start: bool = True


class Team(Strict):
    id: Name
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    channel: str | None = None


OsUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$", max_length=64)]
IdentityMethod = Literal["slack", "cli"]


class Roster(Strict):
    people: Annotated[list[Person], Field(min_length=1)]
    teams: list[Team] = []
    # Operating-system account -> roster person: a CLI decision counts as a verified identity only
    # when the OS user who ran `runbook approve` maps to the person it names (docs/security.md).
    cli_users: dict[OsUser, PersonId] = {}
    # Step id (or "*") -> how its sign-offs must be identified: "slack" (a signed click by the
    # person's Slack id) and/or "cli" (an OS user mapped above). Unlisted steps accept a claim.
    require_identity: dict[str, list[IdentityMethod]] = {}

    def person(self, person_id: str) -> Person | None:
        for person in self.people:
            if person.id == person_id:
                return person
        return None

    def by_slack_id(self, slack_id: str) -> Person | None:
        for person in self.people:
            if person.slack_id == slack_id:
                return person
        return None

    def holders(self, roles: list[str]) -> list[Person]:
        wanted = set(roles)
        return [p for p in self.people if wanted.intersection(p.roles)]

    def team_members(self, team_id: str) -> list[Person]:
        return [p for p in self.people if team_id in p.teams]

    def resolve(self, names: list[str]) -> list[Person]:
        """People named directly or holding one of the named roles, in roster order, unique."""
        out: list[Person] = []
        for person in self.people:
            if person.id in names or set(names).intersection(person.roles):
                out.append(person)
        return out
