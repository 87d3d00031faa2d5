"""What the simulated public can see the team do: one `Action` per freeze, statement, reply, other
post, deletion or thaw, at a simulated minute. Built from a policy (offline) or observed from the
audit trail and the sandbox network (live drill); the public and the score read only these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Action", "actions_from_json", "actions_to_json"]

Kind = Literal["freeze", "thaw", "statement", "reply", "post", "delete"]


@dataclass(frozen=True, order=True)
class Action:
    at: int  # simulated minute after the offending post from which the public sees it
    kind: Kind
    text: str = ""
    to: str = ""  # reply: the author answered
    ref: str = ""  # the network's reference of what was written (sandbox post ref)

    def order(self) -> tuple[int, str, str, str, str]:
        """The sort key (the dataclass order, as a tuple: sorting thousands of replies stays cheap)."""
        return (self.at, self.kind, self.text, self.to, self.ref)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def actions_to_json(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.to_json() for a in sorted(actions)]


def actions_from_json(items: list[dict[str, Any]]) -> list[Action]:
    return sorted(
        Action(at=int(i["at"]), kind=i["kind"], text=i.get("text", ""), to=i.get("to", ""), ref=i.get("ref", ""))
        for i in items
    )
