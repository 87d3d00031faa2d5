"""Sign-offs as a state machine (Hypothesis): approvals, rejections, escalation at the deadline,
duplicate and replayed answers and roster changes in any order, judged by the flow's own
`judge` and carried from wait to wait as `await_gate` does. After every step: each person counts
once towards the quorum, the requester never counts where the two-person rule forbids it, only
authorised people count, a replayed answer changes nothing, and a decided gate stays decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from runbook.engine.authorize import Ballot, Tally, judge
from runbook.plan import GatePlan
from runbook.spec.roster import Roster
from tests.reliability.hypo import TIMEOUT, machine_settings

PEOPLE = ["ana", "ben", "lea", "dan", "ron", "eve"]
REQUESTER = "ron"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class SignoffMachine(RuleBasedStateMachine):
    @initialize(
        quorum=st.integers(1, 3),
        not_requester=st.booleans(),
        escalation=st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True),
        timeout=st.sampled_from([None, 600]),
    )
    def gate(self, quorum: int, not_requester: bool, escalation: list[str], timeout: int | None) -> None:
        self.roles = {
            "ana": ["comms_lead"],
            "ben": ["comms_lead"],
            "lea": ["legal"],
            "dan": [],
            "ron": ["comms_lead"],
            "eve": [],
        }
        self.plan = GatePlan(
            at="before",
            roles=["comms_lead", "legal"],
            quorum=quorum,
            not_requester=not_requester,
            timeout_seconds=timeout,
            escalate_to=[],
            on_timeout="fail",
            prompt=None,
            fields={},
            signers=[p for p in PEOPLE if self.roles[p]],
            escalation=escalation,
        )
        self.now = START
        self.deadline = START + timedelta(seconds=timeout) if timeout else None
        self.tally = Tally()
        self.final: str | None = None
        self.history: list[tuple[str, str]] = []  # (outcome, person) of every judged ballot
        self.sent: list[Ballot] = []
        self.counter = 0

    # -- the flow's loop (await_gate): judge, carry the tally, escalate once on the first timeout ---------
    def _roster(self) -> Roster:
        return Roster.model_validate(
            {"people": [{"id": p, "name": p.title(), "roles": r} for p, r in self.roles.items()]}
        )

    def _submit(self, ballot: Ballot) -> None:
        if self.final is not None:
            return  # await_gate has returned: nobody is listening any more
        roster = self._roster()
        before = self.tally
        verdict = judge(
            gate=self.plan,
            roster=roster,
            requester=REQUESTER,
            tally=before,
            ballot=ballot,
            now=self.now,
            deadline=self.deadline,
        )
        self.history.append((verdict.outcome, ballot.person))
        if verdict.outcome in ("approved", "granted"):
            person = roster.person(ballot.person)
            authorised = bool(set(person.roles) & set(self.plan.roles)) or (
                before.escalated and person.id in self.plan.escalation
            )
            assert authorised, (ballot, self.roles, before)
            assert not (self.plan.not_requester and person.id == REQUESTER)
        if ballot.decision_id and ballot.decision_id in before.decision_ids:
            assert verdict.outcome == "refused" and verdict.tally.approvals == before.approvals
        self.tally = verdict.tally
        if verdict.outcome == "timeout" and self.plan.escalation and not before.escalated:
            self.tally = Tally(
                approvals=self.tally.approvals,
                escalated=True,
                decision_ids=self.tally.decision_ids,
                fields=self.tally.fields,
            )
            self.deadline = self.now + timedelta(seconds=self.plan.timeout_seconds)
        elif verdict.final:
            self.final = verdict.outcome
        self.sent.append(ballot)

    def _id(self, with_id: bool) -> str:
        self.counter += 1
        return f"d{self.counter}" if with_id else ""

    # -- rules ---------------------------------------------------------------------------------------
    @rule(person=st.sampled_from(PEOPLE), with_id=st.booleans(), channel=st.sampled_from(["slack", "cli", "ui"]))
    def approve(self, person: str, with_id: bool, channel: str) -> None:
        self._submit(Ballot(approve=True, person=person, channel=channel, decision_id=self._id(with_id)))

    @rule(person=st.sampled_from(PEOPLE), with_id=st.booleans())
    def reject(self, person: str, with_id: bool) -> None:
        self._submit(Ballot(approve=False, person=person, channel="slack", decision_id=self._id(with_id)))

    @rule(person=st.sampled_from(["", "mallory", "ANA"]))
    def stranger(self, person: str) -> None:
        self._submit(Ballot(approve=True, person=person, channel="ui", decision_id=self._id(True)))

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(0, 1000))
    def replay(self, pick: int) -> None:
        """The same request again (a retried click, a resent form): same decision id, or none."""
        self._submit(self.sent[pick % len(self.sent)])

    @rule()
    def deadline_job(self) -> None:
        self._submit(Ballot(approve=True, person="", channel="flow", escalate=True))

    @rule(minutes=st.integers(0, 30))
    def clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(person=st.sampled_from(PEOPLE), role=st.sampled_from([None, "comms_lead", "legal"]))
    def roster_change(self, person: str, role: str | None) -> None:
        self.roles[person] = [role] if role else []

    # -- invariants ------------------------------------------------------------------------------------
    @invariant()
    def each_person_counts_once(self) -> None:
        assert len(set(self.tally.approvals)) == len(self.tally.approvals)
        assert len(self.tally.approvals) <= self.plan.quorum

    @invariant()
    def the_requester_never_counts_where_forbidden(self) -> None:
        if self.plan.not_requester:
            assert REQUESTER not in self.tally.approvals

    @invariant()
    def a_decided_gate_stays_decided(self) -> None:
        outcomes = [o for o, _ in self.history if o in ("granted", "rejected") or o == "timeout"]
        decided = [o for o in outcomes if o != "timeout"] + (["timeout"] if self.final == "timeout" else [])
        assert len(decided) <= 1, self.history
        if self.final == "granted":
            assert len(self.tally.approvals) == self.plan.quorum


SignoffMachine.TestCase.settings = machine_settings()
TestSignoffMachine = SignoffMachine.TestCase
pytestmark = TIMEOUT
