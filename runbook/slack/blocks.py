"""Block Kit building blocks kept inside Slack's limits: mrkdwn escaping (`& < >` only), long text
split into sections, block count and total size capped with a visible truncation note.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
# Slack answers msg_blocks_too_long well before 50 full sections; stay clear of ~13k characters.
MAX_TOTAL = 12_000
TRUNCATED = "… (truncated: see `/crisis status` or the audit trail for the full text)"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn escaping: only `&`, `<` and `>` (Slack decodes nothing else)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def plain(text: str, limit: int = MAX_SECTION) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    """`text` is already mrkdwn (escaped where it holds user text)."""
    return {"type": "mrkdwn", "text": clip(text, MAX_SECTION) or " "}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10] if t]}


def divider() -> Block:
    return {"type": "divider"}


def _prefix(line: str, budget: int) -> int:
    """Length of the longest prefix of `line` whose escaped form fits `budget` (binary search)."""
    low, high = 1, len(line)
    while low < high:
        mid = (low + high + 1) // 2
        if len(escape(line[:mid])) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _chunks(raw: str, budget: int) -> list[str]:
    """Raw text cut so each escaped piece fits `budget`, at line breaks, else spaces, else anywhere."""
    out: list[str] = []
    current = ""
    for line in raw.splitlines(keepends=True):
        while len(escape(line)) > budget:  # one line longer than a section
            cut = _prefix(line, budget)
            space = line.rfind(" ", cut // 2, cut)
            cut = space + 1 if space > 0 else cut
            if current:
                out.append(current)
                current = ""
            out.append(line[:cut])
            line = line[cut:]
        if len(escape(current + line)) > budget:
            out.append(current)
            current = ""
        current += line
    if current or not out:
        out.append(current)
    return [c.rstrip("\n") for c in out]


def text_sections(raw: str, *, prefix: str = "") -> list[Block]:
    """User text as escaped mrkdwn sections of at most 3,000 characters each."""
    budget = MAX_SECTION - len(prefix)
    pieces = _chunks(str(raw), budget)
    return [section((prefix if n == 0 else "") + (escape(p) or " ")) for n, p in enumerate(pieces)]


def size(blocks: list[Block]) -> int:
    """Characters of text in `blocks` (what msg_blocks_too_long counts, roughly)."""
    total = 0

    def walk(value: Any) -> None:
        nonlocal total
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    total += len(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return total


def fit(
    blocks: list[Block], *, keep_tail: int = 0, max_blocks: int = MAX_BLOCKS, max_total: int = MAX_TOTAL
) -> list[Block]:
    """At most `max_blocks` blocks and `max_total` characters; the last `keep_tail` blocks (buttons,
    the decision line) always survive, and a note says that something was cut."""
    head, tail = (blocks[:-keep_tail], blocks[-keep_tail:]) if keep_tail else (list(blocks), [])
    note = context(TRUNCATED)
    budget_blocks = max_blocks - len(tail)
    budget_chars = max_total - size(tail)
    if len(head) <= budget_blocks and size(head) <= budget_chars:
        return head + tail
    kept: list[Block] = []
    used = size([note])
    for block in head:
        if len(kept) + 1 >= budget_blocks or used + size([block]) > budget_chars:
            break
        kept.append(block)
        used += size([block])
    return kept + [note] + tail


def fallback(text: str) -> str:
    """The `text` of a message with blocks: notifications and screen readers use it."""
    return clip(text, MAX_FALLBACK)
