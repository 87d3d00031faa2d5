"""The contract between a step kind and the engine: `StepKind`, `StepContext`, `StepServices`, `Outputs`.

A kind declares its parameter model, its output model, whether it has side effects and when a
sign-off gate sits relative to its work; the engine does the rest (Prefect, audit, gates) and
hands every kind the same typed `StepServices` (database, channel, clock, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, Unpack, get_type_hints

from pydantic import BaseModel, ConfigDict

from runbook.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runbook.checks import Checker
    from runbook.messaging.brand import Brand
    from runbook.ports.channel import Channel
    from runbook.ports.chat import Chat
    from runbook.ports.remote_queue import RemoteQueue
    from runbook.settings import Settings
    from runbook.spec.models import InputField
    from runbook.spec.roster import Roster


class Params(BaseModel):
    """Base for a kind's `with:` parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Outputs(BaseModel):
    """Base for a kind's outputs, available to later steps as `steps.<id>.outputs`."""

    model_config = ConfigDict(extra="allow")


class NoParams(Params):
    pass


class AuditSink(Protocol):
    def __call__(self, action: str, details: Mapping[str, Any] | None = None) -> None: ...


class ArtifactsHook(Protocol):
    """Attaches a view to the current Prefect task run (kinds never import Prefect): markdown text,
    a table (a list of rows) or progress (a number); outside a flow run it does nothing."""

    def __call__(self, *, kind: str, key: str, data: Any, description: str | None = None) -> None: ...


@dataclass(frozen=True)
class StepServices:
    """The ports every step kind works through, built once per run by the engine
    (`runbook.engine.services.Services.step_services`): the engine, not a kind, chooses the
    database, the social channel (configured accounts, or the sandbox), the clock and the rest."""

    db: Engine
    channel: Channel  # the configured accounts' router, or the sandbox network (always the sandbox in a drill)
    templates_dir: Path = Path("templates")
    settings: Settings | None = None
    roster: Callable[[], Roster] | None = None  # the current roster (reloaded when its file changes)
    clock: Callable[[], datetime] | None = None  # tests and replays fix the time; None: now
    artifacts: ArtifactsHook | None = None  # views in the Prefect UI, when the engine runs the step
    brand: Brand | None = None  # None: ./brand.yaml when present (runbook.messaging.brand.load_brand)
    checker: Checker | None = None  # a shared pre-publish checker; None: each step builds its own
    remote_queues: tuple[RemoteQueue, ...] = ()  # publishing queues outside our database a freeze covers
    remote_problem: str | None = None  # why some configured remote queues could not be built

    def now(self) -> datetime:
        """The clock's time (aware UTC), else the current time."""
        from runbook.audit.models import as_utc

        return as_utc(self.clock() if self.clock is not None else None)

    def current_roster(self) -> Roster:
        if self.roster is None:
            raise ConfigurationError("this step needs the roster: the step services were built without one")
        return self.roster()


@dataclass
class StepContext:
    """What a step function sees. Built by the engine for one step of one incident."""

    incident_id: str
    incident_slug: str
    requester: str
    step_id: str
    inputs: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]  # earlier steps' outputs by step id
    audit: AuditSink  # appends an event for this incident and step (actor: system, channel: flow)
    services: StepServices  # the database, the social channel, the clock, ... (the same for every step)
    chat: Chat | None = None  # the incident's chat (console or Slack); None: nobody to tell
    channel: str | None = None  # incident chat channel
    decision: Mapping[str, Any] | None = None  # fields of the granted sign-off, when the gate came first

    def key(self, target: str = "") -> str:
        """Idempotency key for a side effect of this step on `target`."""
        return f"{self.incident_id}:{self.step_id}:{target}"


StepFunction = Callable[[StepContext, Any], BaseModel]
DecisionCheck = Callable[[Any, Mapping[str, Any], Mapping[str, Any], StepServices], list[str]]


class KindOptions(TypedDict, total=False):
    """What `StepKind.of` passes on to the declaration besides the name and the models."""

    side_effects: bool
    human: bool
    signoff_at: Literal["before", "after"]
    gate_fields: Callable[[Any], dict[str, InputField]]
    immediate: bool
    rerun_after_signoff: bool
    check_decision: DecisionCheck


@dataclass(frozen=True)
class StepKind:
    name: str
    params: type[Params]
    run: StepFunction
    outputs: type[BaseModel] = Outputs  # an Outputs model, or another pydantic model (runbook.ports.assessment)
    side_effects: bool = False
    description: str = ""
    # A human kind (decide, checklist) is the answer of a person: its step must carry a signoff.
    human: bool = False
    # Where the gate sits: "before" approves the work before it happens (publish, decide);
    # "after" approves what the work produced (a drafted statement).
    signoff_at: Literal["before", "after"] = "before"
    # Extra typed fields the approver fills in, derived from the params (decide: the choice).
    gate_fields: Callable[[Any], dict[str, InputField]] | None = None
    # Runs as the incident starts, before any worker picks the flow run up (freeze).
    immediate: bool = False
    # "after" gate only: once granted, the engine calls `run` again with the decision (the granted
    # fields plus approvers, person, channel) to apply it; while the new outputs say
    # `awaiting_review: true` it reopens the gate on them and repeats (thaw, statement, replies).
    rerun_after_signoff: bool = False
    # "after" gate only: (params, outputs shown, fields given, services) -> problems; an approval
    # whose fields have any is refused before it counts (draft_statement: a blocked edit).
    check_decision: DecisionCheck | None = None

    @classmethod
    def of(cls, name: str, run: StepFunction, *, description: str, **options: Unpack[KindOptions]) -> StepKind:
        """The kind of `run(ctx, params: P) -> O`: its parameter and output models are read from the
        annotations, so they are written once."""
        hints = get_type_hints(run)
        arguments = list(inspect.signature(run).parameters)
        params = hints.get(arguments[1]) if len(arguments) == 2 else None
        outputs = hints.get("return")
        if not (
            isinstance(params, type)
            and issubclass(params, Params)
            and isinstance(outputs, type)
            and issubclass(outputs, BaseModel)
        ):
            raise TypeError(
                f"step kind '{name}': annotate its function as "
                "(ctx: StepContext, params: <a Params model>) -> <an Outputs model>"
            )
        return cls(name=name, params=params, outputs=outputs, run=run, description=description, **options)
