"""What an approver says about a batch of replies: one line per reply to change.

r17 approve        send it although it was flagged (a near-duplicate)
r17 skip           do not answer this person
r17 hold           not now: show it again in a later batch
r17: new text      send this text instead (checked again before it counts)
@handle skip       a handle works wherever a reply id does
c2: new text       every reply of concern group c2 in the batch ({handle}, {quote} per person);
c2 skip            and any verb works for a group (reply_run expands it)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from runbook.messaging.errors import ReviewError

Verb = Literal["approve", "skip", "hold", "edit"]
_LINE = re.compile(
    r"^(?P<ref>r\d+|@?[\w.-]+(?::[\w.@-]+)?)\s*(?:(?P<colon>:)\s*(?P<text>.*)|\s+(?P<verb>\w+)\s*(?P<rest>.*))$", re.S
)


@dataclass(frozen=True)
class Action:
    ref: str  # "r17" or a casefolded handle (without @)
    verb: Verb
    text: str = ""
    line: int = 0


def parse_actions(source: str | None) -> dict[str, Action]:
    """Every line parsed; all problems reported at once, each with its line number."""
    actions: dict[str, Action] = {}
    problems: list[str] = []
    for number, raw in enumerate((source or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(f"line {number}: expected 'r<id> approve|skip|hold' or 'r<id>: new text', got {line!r}")
            continue
        ref = match.group("ref")
        ref = ref if re.fullmatch(r"r\d+", ref) else ref.lstrip("@").casefold()
        if match.group("colon"):
            text = match.group("text").strip()
            if not text:
                problems.append(f"line {number}: {ref}: the new text is empty (use 'skip' to not answer)")
                continue
            action = Action(ref, "edit", text, number)
        else:
            verb = match.group("verb").lower()
            if verb == "edit" and match.group("rest").strip():
                action = Action(ref, "edit", match.group("rest").strip(), number)
            elif verb in ("approve", "skip", "hold") and not match.group("rest").strip():
                action = Action(ref, verb, "", number)  # type: ignore[arg-type]
            else:
                problems.append(
                    f"line {number}: unknown action {verb!r} for {ref} (approve, skip, hold, or ': new text')"
                )
                continue
        if ref in actions:
            problems.append(f"line {number}: {ref} already has an action on line {actions[ref].line}")
            continue
        actions[ref] = action
    if problems:
        raise ReviewError("; ".join(problems))
    return actions
