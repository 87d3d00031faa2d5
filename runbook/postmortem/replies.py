"""Individual replies, person by person (doctrine step 5): who was on the list, who was answered,
skipped or failed, and how long each person waited. Folded from the reply events as they stream
by, into flat arrays: a trail answering half a million people stays tens of megabytes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from runbook.audit.models import as_utc
from runbook.postmortem import names as n
from runbook.postmortem.model import PERSON_FIELDS, PersonReply, unchecked
from runbook.postmortem.trail import Event

# A later, stronger state wins: a failed send that a retry delivered is "sent".
STATES = ("pending", "drafted", "failed", "skipped", "sent")
_RANK = {n.REPLY_DRAFTED: 1, n.REPLY_FAILED: 2, n.REPLY_SKIPPED: 3, n.REPLY_SENT: 4}
_SENT = STATES.index("sent")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NONE = -(2**63)  # no time recorded (times are kept as integer microseconds: exact, 8 bytes each)
_NO_TIMES = array("q", [_NONE] * 3)
_NO_LINKS = array("i", [-1, -1])


def parse_time(value: Any) -> datetime | None:
    """An ISO time from event details as aware UTC (naive means UTC); None when absent or unreadable."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads "Z" too
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _person(details: dict[str, Any]) -> str | None:
    who = details.get("person") or details.get("author")
    return str(who) if who else None


def micros(ts: datetime | None) -> int:
    """Integer microseconds since the epoch (exact, unlike a float timestamp); _NONE for None."""
    return _NONE if ts is None else (ts - _EPOCH) // _US


def _time(micros: int) -> datetime | None:
    return None if micros == _NONE else _EPOCH + timedelta(microseconds=micros)


class People(Sequence[PersonReply]):
    """Everyone on the list to answer, in the order first named, as a read-only sequence of
    `PersonReply` made on demand. Fed with `add`; `recorded` is False while no reply event came."""

    def __init__(self) -> None:
        self.recorded = False
        self._index: dict[str, int] = {}
        self._names: list[str] = []
        self._state = bytearray()
        # Three times a person, interleaved: the mention time replies.planned names (it wins), the
        # one a reply event carries, and when the reply was sent.
        self._times = array("q")
        # Evidence: one flat, seq-ordered array of (seq, person), each person's entries chained
        # through `_next` from the (head, tail) pair in `_links`.
        self._seq, self._who, self._next = array("q"), array("i"), array("i")
        self._links = array("i")

    def _track(self, who: str) -> int:
        i = self._index.get(who)
        if i is None:
            i = self._index[who] = len(self._names)
            self._names.append(who)
            self._state.append(0)
            self._times.extend(_NO_TIMES)
            self._links.extend(_NO_LINKS)
        return i

    def _note(self, i: int, seq: int) -> None:
        links = self._links
        tail = links[2 * i + 1]
        if tail >= 0 and self._seq[tail] == seq:
            return  # one event may name a person twice
        k = len(self._seq)
        self._seq.append(seq)
        self._who.append(i)
        self._next.append(-1)
        if tail >= 0:
            self._next[tail] = k
        else:
            links[2 * i] = k
        links[2 * i + 1] = k

    def add(self, event: Event) -> None:
        # The hot path of a reply storm: one call per reply event, two for most people.
        action = event.action
        if action == n.REPLIES_PLANNED:
            self._planned(event)
            return
        rank = _RANK.get(action)
        if rank is None:
            return
        self.recorded = True
        d = event.details
        who = _person(d)
        if who is None:
            return
        i = self._index.get(who)
        if i is None:
            i = self._track(who)
        self._note(i, event.seq)
        times = self._times
        if "mentioned_at" in d or "mention_at" in d:
            when = d.get("mentioned_at") or d.get("mention_at")
            if when and times[3 * i + 1] == _NONE:
                times[3 * i + 1] = micros(parse_time(when))
        if rank >= self._state[i]:
            self._state[i] = rank
        if rank == _SENT and times[3 * i + 2] == _NONE:
            times[3 * i + 2] = micros(event.ts)

    def _planned(self, event: Event) -> None:
        self.recorded = True
        times, track, note, seq = self._times, self._track, self._note, event.seq
        for entry in event.details.get("people") or ():
            if isinstance(entry, dict):
                who = _person(entry)
                if who is None:
                    continue
                i = track(who)
                note(i, seq)
                when = entry.get("mentioned_at") or entry.get("mention_at")
                if when and times[3 * i] == _NONE:
                    times[3 * i] = micros(parse_time(when))
            elif entry:
                note(track(str(entry)), seq)

    # -- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> PersonReply: ...

    @overload
    def __getitem__(self, index: slice) -> list[PersonReply]: ...

    def __getitem__(self, index: int | slice) -> PersonReply | list[PersonReply]:
        if isinstance(index, slice):
            return [self._reply(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._reply(index)

    def __iter__(self) -> Iterator[PersonReply]:
        return (self._reply(i) for i in range(len(self)))

    def _mentioned(self, i: int) -> int:
        planned = self._times[3 * i]
        return planned if planned != _NONE else self._times[3 * i + 1]

    def _record(self, i: int) -> dict[str, Any]:
        evidence, k = [], self._links[2 * i]
        while k >= 0:
            evidence.append(self._seq[k])
            k = self._next[k]
        mentioned, answered = self._mentioned(i), self._times[3 * i + 2]
        wait = (answered - mentioned) / 1e6 if answered != _NONE and mentioned != _NONE else None
        return {
            "person": self._names[i],
            "state": STATES[self._state[i]],
            "mentioned_at": _time(mentioned),
            "answered_at": _time(answered),
            "seconds_to_answer": wait,
            "evidence": evidence,
        }

    def records(self) -> Iterator[dict[str, Any]]:
        """Each person as the fields of a `PersonReply` (what the JSON writes, without the models)."""
        return (self._record(i) for i in range(len(self)))

    def _reply(self, i: int) -> PersonReply:
        # Unvalidated (one per person, possibly hundreds of thousands): the values are typed above.
        return unchecked(PersonReply, PERSON_FIELDS, self._record(i))

    def count(self, state: str) -> int:
        return self._state.count(STATES.index(state))

    def waits(self) -> list[float]:
        """Seconds from mention to reply of everyone answered whose mention time is known."""
        out = []
        for i, state in enumerate(self._state):
            if state == _SENT:
                mentioned, answered = self._mentioned(i), self._times[3 * i + 2]
                if mentioned != _NONE and answered != _NONE:
                    out.append((answered - mentioned) / 1e6)
        return out

    def evidence(self, *states: str) -> array[int]:
        """The seq numbers naming the people in `states` (everyone when none), sorted, each once:
        a flat array (8 bytes a number), as a metric resting on a million events needs."""
        wanted = {STATES.index(s) for s in states} if states else None
        out = array("q")
        last = -1
        state = self._state
        for seq, who in zip(self._seq, self._who, strict=True):
            if seq != last and (wanted is None or state[who] in wanted):
                out.append(seq)
                last = seq
        return out
