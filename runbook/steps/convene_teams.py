"""`convene_teams`: choose the teams from the playbook's rules, resolve their people from the roster,
open the war room (when the chat port can), brief them, and ask each to acknowledge by a deadline.

The step never waits: acknowledgements and escalation to deputies live in runbook.listen.convene.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from runbook.spec.durations import Duration
from runbook.spec.models import TemplatePath
from runbook.steps.base import Outputs, Params, StepContext, StepKind

TeamName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)]

DEFAULT_BRIEFING = """\
Incident {{ incident.slug }}: you are convened ({{ convene.teams | join(', ') }}).
{% if steps.assess is defined %}{{ steps.assess.outputs.summary }}
{% endif %}{% if inputs.summary is defined and inputs.summary %}What happened: {{ inputs.summary }}
{% endif %}Who: {% for p in convene.people %}{{ p.name }} ({{ p.teams | join('/') }}){% if not loop.last %}, {% endif %}{% endfor %}
Please acknowledge by {{ convene.deadline }}: runbook ack {{ incident.slug }} --as YOUR-ID
"""


class TeamRule(Params):
    when: Annotated[str, Field(min_length=1, max_length=2000)]
    teams: Annotated[list[TeamName], Field(min_length=1)]

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        from jinja2 import TemplateSyntaxError

        from runbook.spec.expressions import compile_condition

        try:
            compile_condition(value)
        except TemplateSyntaxError as exc:
            raise ValueError(f"`when` does not parse: {exc.message}") from None
        return value


class ConveneParams(Params):
    always: list[TeamName] = Field(default_factory=list, description="Teams convened in every case")
    rules: list[TeamRule] = Field(default_factory=list, description="Teams convened when a condition holds")
    ack_within: Duration = Field(
        default=timedelta(minutes=15), description="Time to acknowledge before the deputy is asked"
    )
    briefing: TemplatePath | None = Field(default=None, description="Briefing template under templates/")
    message: Annotated[str, Field(max_length=10_000)] | None = Field(
        default=None, description="Inline briefing template"
    )
    war_room: bool = Field(default=True, description="Open the incident's war room when the chat port can")

    @model_validator(mode="after")
    def _something(self) -> ConveneParams:
        if not self.always and not self.rules:
            raise ValueError("give `always` teams, `rules`, or both")
        if self.briefing is not None and self.message is not None:
            raise ValueError("give either `briefing` or `message`, not both")
        return self


class ConveneOutputs(Outputs):
    teams: list[str]
    rules_matched: list[str]
    people: list[str]
    by_team: dict[str, list[str]]
    missing_teams: list[str]  # teams with nobody on the roster
    war_room: str | None
    deadline: str
    asked: list[dict[str, Any]]
    acknowledged: list[str]
    briefing: str


def choose_teams(params: ConveneParams, variables: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The teams, in order (always first), and the rules whose condition held."""
    from runbook.spec.expressions import evaluate_when

    teams = list(dict.fromkeys(params.always))
    matched = []
    for rule in params.rules:
        # An undefined name raises: a typo in a rule must not silently leave the board out.
        if evaluate_when(rule.when, variables):
            matched.append(rule.when)
            teams.extend(t for t in rule.teams if t not in teams)
    return teams, matched


def run(ctx: StepContext, params: ConveneParams) -> ConveneOutputs:
    from runbook.listen.convene import ack_status, request_acks
    from runbook.spec import expressions

    engine = ctx.services.db
    incident = {"id": ctx.incident_id, "slug": ctx.incident_slug}
    variables = expressions.expression_context(inputs=ctx.inputs, steps=ctx.steps, incident=incident)
    teams, matched = choose_teams(params, variables)
    roster = ctx.services.current_roster()
    members = {team: roster.team_members(team) for team in teams}
    by_team = {team: [p.id for p in found] for team, found in members.items()}
    names = {p.id: p.name for found in members.values() for p in found}
    missing = [team for team, ids in by_team.items() if not ids]
    pairs: list[tuple[str, str]] = []  # each person once, under the first team that needs them
    for team, ids in by_team.items():
        pairs.extend((person, team) for person in ids if person not in {p for p, _ in pairs})
    people = [person for person, _ in pairs]

    now = ctx.services.now()
    requests = request_acks(
        engine, incident_id=ctx.incident_id, step_id=ctx.step_id, people=pairs, within=params.ack_within, now=now
    )
    first = [r for r in requests if r.level == 0]
    deadline = min((r.deadline for r in first), default=now + params.ack_within)

    channel = ctx.channel
    opener = getattr(ctx.chat, "open_war_room", None) if params.war_room else None
    if callable(opener) and people:
        opened = opener(people=people, key=ctx.key("war-room"))
        channel = str(opened) if opened else channel
    convene = {
        "teams": teams,
        "deadline": deadline.strftime("%Y-%m-%d %H:%M UTC"),
        "people": [{"id": p, "name": names[p], "teams": [t for t in teams if p in by_team[t]]} for p in people],
    }
    if params.briefing is not None:
        source = (ctx.services.templates_dir / params.briefing).read_text(encoding="utf-8")
    else:
        source = params.message or DEFAULT_BRIEFING
    briefing = expressions.render_text(source, {**variables, "convene": convene}).strip()
    if ctx.chat is not None:
        ctx.chat.post(channel, briefing, key=ctx.key("briefing"))
        if missing:
            ctx.chat.post(
                channel,
                f"Nobody on the roster for: {', '.join(missing)}. Find someone by hand.",
                key=ctx.key("missing-teams"),
            )
    ctx.audit(
        "convene.requested",
        {
            "teams": teams,
            "rules_matched": matched,
            "people": people,
            "missing_teams": missing,
            "deadline": deadline.isoformat(),
            "war_room": channel,
        },
    )
    return ConveneOutputs(
        teams=teams,
        rules_matched=matched,
        people=people,
        by_team=by_team,
        missing_teams=missing,
        war_room=channel,
        deadline=deadline.isoformat(),
        asked=[
            {"person": r.person, "team": r.team, "deadline": r.deadline.isoformat(), "level": r.level} for r in requests
        ],
        acknowledged=[r.person for r in ack_status(engine, ctx.incident_id, ctx.step_id) if r.acked_at is not None],
        briefing=briefing,
    )


KIND = StepKind.of(
    "convene_teams",
    run,
    side_effects=True,
    description="Convene teams chosen by rules, brief them in the war room, track acknowledgements",
)
