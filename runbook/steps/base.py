"""The contract between a step kind and the engine: `StepKind`, `StepContext`, `Outputs`.

A kind declares its parameter model, its output model, whether it has side effects and when a
sign-off gate sits relative to its work; the engine does the rest (Prefect, audit, gates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from runbook.spec.models import InputField


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
    chat: Any = None  # runbook.ports.chat.Chat
    channel: str | None = None  # incident chat channel
    decision: Mapping[str, Any] | None = None  # fields of the granted sign-off, when the gate came first
    services: Mapping[str, Any] = field(default_factory=dict)  # later ports (post queue, social channel)

    def key(self, target: str = "") -> str:
        """Idempotency key for a side effect of this step on `target`."""
        return f"{self.incident_id}:{self.step_id}:{target}"


StepFunction = Callable[[StepContext, Any], Outputs]


@dataclass(frozen=True)
class StepKind:
    name: str
    params: type[Params]
    run: StepFunction
    outputs: type[Outputs] = Outputs
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
    check_decision: Callable[[Any, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], list[str]] | None = None
