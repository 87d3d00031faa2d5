"""`/crisis` text parsing: start | freeze | status | list | help, and the help text.

Pure functions; a parse error carries what to type instead. A playbook is named by its id only:
never a path, so a slash command cannot make the server read an arbitrary file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbook.errors import InvalidSpec

COMMAND = "/crisis"
_PLAYBOOK_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INCIDENT_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_SUMMARY = 3000


@dataclass(frozen=True)
class Start:
    playbook: str
    summary: str = ""
    inputs: tuple[tuple[str, str], ...] = ()  # `key=value` words, in order (`post=URL` among them)


@dataclass(frozen=True)
class Cancel:
    incident: str
    reason: str = ""


@dataclass(frozen=True)
class Freeze:
    reason: str = ""


@dataclass(frozen=True)
class Status:
    incident: str | None = None


@dataclass(frozen=True)
class ListPlaybooks:
    pass


@dataclass(frozen=True)
class Help:
    pass


Command = Start | Cancel | Freeze | Status | ListPlaybooks | Help
_ASSIGN = re.compile(r'^(?P<key>[a-z_][a-z0-9_]{0,63})=(?P<value>"[^"]*"|“[^”]*”|\S*)\s*', re.IGNORECASE)


class ParseError(InvalidSpec, ValueError):
    """str() says what was wrong and what to type instead."""


def unescape(text: str) -> str:
    """Slack sends slash-command text with `& < >` HTML-escaped; `&amp;` last, so `&amp;lt;` stays `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse(text: str | None) -> Command:
    raw = unescape((text or "").strip())
    verb, _, rest = raw.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("", "help", "-h", "--help"):
        return Help()
    if verb == "start":
        playbook, _, summary = rest.partition(" ")
        if not playbook:
            raise ParseError(f"say which playbook: `{COMMAND} start PLAYBOOK what happened` (see `{COMMAND} list`)")
        playbook = playbook.lower()
        if not _PLAYBOOK_ID.match(playbook):
            raise ParseError(
                f"{playbook[:80]!r} is not a playbook id (lower-case words joined by dashes); see `{COMMAND} list`"
            )
        inputs, summary = _assignments(summary.strip())
        summary = _strip_quotes(summary.strip())
        if len(summary) > MAX_SUMMARY:
            raise ParseError(f"the summary is {len(summary)} characters; keep it under {MAX_SUMMARY}")
        return Start(playbook=playbook, summary=summary, inputs=inputs)
    if verb == "cancel":
        ref, _, reason = rest.partition(" ")
        ref = ref.lower().lstrip("#").removeprefix("crisis-")
        if not ref or not _INCIDENT_REF.match(ref):
            raise ParseError(f"say which incident and why: `{COMMAND} cancel INCIDENT reason`")
        reason = _strip_quotes(reason.strip())
        if not reason:
            raise ParseError(f"say why: `{COMMAND} cancel {ref} reason` (the reason goes into the audit trail)")
        return Cancel(incident=ref, reason=reason[:MAX_SUMMARY])
    if verb == "freeze":
        return Freeze(reason=_strip_quotes(rest)[:MAX_SUMMARY])
    if verb == "status":
        if not rest:
            return Status()
        # A war-room name (#crisis-<slug>) names its incident too.
        ref = rest.split()[0].lower().lstrip("#").removeprefix("crisis-")
        if not _INCIDENT_REF.match(ref):
            raise ParseError(f"{rest[:80]!r} is not an incident; type `{COMMAND} status` to list open incidents")
        return Status(incident=ref)
    if verb in ("list", "playbooks", "ls"):
        return ListPlaybooks()
    raise ParseError(f"unknown command {verb[:40]!r}; type `{COMMAND} help`")


def _assignments(text: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """Leading and trailing `key=value` words (a Slack link `<https://...|label>` is unwrapped);
    whatever is left is the summary."""
    found: list[tuple[str, str]] = []
    words = []
    rest = text
    while rest:
        match = _ASSIGN.match(rest)
        if match:
            found.append((match["key"].lower(), _link(_strip_quotes(match["value"]))))
            rest = rest[match.end() :]
            continue
        word, _, rest = rest.partition(" ")
        words.append(word)
        rest = rest.lstrip()
    return tuple(found), " ".join(words)


def _link(value: str) -> str:
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].split("|", 1)[0]
    return value


def _strip_quotes(text: str) -> str:
    # Smart quotes too: Slack clients often turn "..." into “...”.
    for left, right in (('"', '"'), ("“", "”"), ("'", "'")):
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            return text[1:-1].strip()
    return text


HELP = f"""*{COMMAND}* runs a crisis playbook from Slack.
• `{COMMAND} start PLAYBOOK what happened post=URL key=value`: start an incident (`post=` is the offending post; a form opens, pre-filled, when the playbook needs more)
• `{COMMAND} cancel INCIDENT reason`: stop an incident's playbook
• `{COMMAND} freeze [reason]`: the emergency brake: pause every scheduled post now
• `{COMMAND} status [incident]`: open incidents, or one incident in detail
• `{COMMAND} list`: the playbooks you can start
• `{COMMAND} help`: this text"""
