"""`hub audit replay`: rebuild state from the retained topics (offset 0, Kafka only) and
compare it with the live state: casework's referrals (folded with casework's own pure
``evolve``, in log order: casework's stored state is that fold alone, its own decisions not
yet read back from the log are kept apart) and the audit ledger itself.

This module is used by the ``hub`` CLI, which may import services; the audit service never
imports it (services do not import each other).

Narrowing: ``referral`` keeps one referral; ``start``/``end`` keep records whose Kafka
timestamp falls in [start, end). A referral in scope is still folded from its first event,
so its rebuilt state is comparable with the live one.
"""

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from referral_schemas.lifecycle import Refusal
from referral_schemas.topics import REFERRAL_EVENTS

from services.audit.replay_interface import (
    RETIRED_TOPICS,
    EntryContent,
    Parsed,
    Provenance,
    RecordFacts,
    describe_parsed,
)
from services.casework.replay_interface import FOLDED_TYPES, CaseState, evolve


@dataclass(frozen=True)
class Scope:
    referral: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None

    def covers_time(self, timestamp_ms: int | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if timestamp_ms is None:
            return False
        ms = timestamp_ms
        after_start = self.start is None or ms >= int(self.start.timestamp() * 1000)
        return after_start and (self.end is None or ms < int(self.end.timestamp() * 1000))

    @property
    def narrowed(self) -> bool:
        return self.referral is not None or self.start is not None or self.end is not None


def state_digest(state: CaseState) -> str:
    """sha256 of the state's canonical JSON: equal digests, equal states."""
    body = json.dumps(state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def overall_digest(digests: dict[uuid.UUID, str]) -> str:
    lines = "".join(f"{rid}:{digests[rid]}\n" for rid in sorted(digests, key=str))
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass
class CaseworkReplay:
    """Casework's referral state folded from referral.events, as casework folds it."""

    scope: Scope
    states: dict[uuid.UUID, CaseState] = field(default_factory=dict)
    in_scope: set[uuid.UUID] = field(default_factory=set)
    sla_breaches: Counter[uuid.UUID] = field(default_factory=Counter)
    events: int = 0
    refused: int = 0
    """Events with no effect where they landed (casework records them the same way), or
    about a referral never seen opened."""

    def feed(self, record: RecordFacts, parsed: Parsed, provenance: Provenance) -> None:
        """Fold one record (``parse_record``'s result) that casework would accept: one its
        producer signed and may publish (casework dead-letters any other)."""
        if record.topic != REFERRAL_EVENTS or not provenance.trusted:
            return
        envelope, _ = parsed
        if envelope is None or envelope.type not in FOLDED_TYPES:
            return
        rid: uuid.UUID = envelope.data.referral_id
        if self.scope.referral is not None and rid != self.scope.referral:
            return
        self.events += 1
        if self.scope.covers_time(record.timestamp_ms):
            self.in_scope.add(rid)
        if envelope.type == "SlaBreached":
            self.sla_breaches[rid] += 1
        state = evolve(self.states.get(rid), envelope)
        if isinstance(state, Refusal):
            self.refused += 1
            return
        self.states[rid] = state

    def digests(self) -> dict[uuid.UUID, str]:
        return {rid: state_digest(s) for rid, s in self.states.items() if rid in self.in_scope}


@dataclass(frozen=True)
class StateComparison:
    compared: int
    rebuilt_digest: str
    live_digest: str
    differences: tuple[str, ...]

    @property
    def same(self) -> bool:
        return not self.differences


def compare_states(
    rebuilt: dict[uuid.UUID, str], live: dict[uuid.UUID, str], scope: Scope
) -> StateComparison:
    """Per referral and overall; with a time window, only referrals the window touched."""
    if scope.referral is not None:
        live = {rid: d for rid, d in live.items() if rid == scope.referral}
    elif scope.start is not None or scope.end is not None:
        live = {rid: d for rid, d in live.items() if rid in rebuilt}
    differences = [
        f"referral {rid}: {_what(rebuilt.get(rid), live.get(rid))}"
        for rid in sorted(set(rebuilt) | set(live), key=str)
        if rebuilt.get(rid) != live.get(rid)
    ]
    return StateComparison(
        compared=len(set(rebuilt) | set(live)),
        rebuilt_digest=overall_digest(rebuilt),
        live_digest=overall_digest(live),
        differences=tuple(differences),
    )


def _what(rebuilt: str | None, live: str | None) -> str:
    if rebuilt is None:
        return "live state has it, the topics do not rebuild it"
    if live is None:
        return "rebuilt from the topics, missing from the live state"
    return f"state differs (rebuilt {rebuilt[:12]}, live {live[:12]})"


@dataclass
class LedgerReplay:
    """The ledger's entries rebuilt from the records (before positions are assigned)."""

    scope: Scope
    contents: dict[tuple[str, int, int], EntryContent] = field(default_factory=dict)
    ends: dict[tuple[str, int], int] = field(default_factory=dict)
    """One past the last offset read per partition: later records are newer than the replay."""

    def feed(self, record: RecordFacts, parsed: Parsed, provenance: Provenance) -> None:
        """Describe one record (``parse_record``'s result, ``provenance_of``'s verdict)."""
        where = (record.topic, record.partition)
        self.ends[where] = max(self.ends.get(where, 0), record.offset + 1)
        content = describe_parsed(record, *parsed, provenance=provenance)
        if self.scope.referral is not None and content.referral_id != self.scope.referral:
            return
        if not self.scope.covers_time(record.timestamp_ms):
            return
        self.contents[(record.topic, record.partition, record.offset)] = content

    first_retained: dict[tuple[str, int], int] = field(default_factory=dict)
    """The first offset each partition still holds when the replay read it: records before
    it have passed their topic's retention (police.intelligence, hub.dead-letter)."""

    def read_before_end(self, topic: str, partition: int, offset: int) -> bool:
        return offset < self.ends.get((topic, partition), 0)

    def expired(self, topic: str, partition: int, offset: int) -> bool:
        """The record is gone from its topic by retention, not by anything done to it, or
        its topic is one the ledger no longer reads (hub.dead-letter: the replay leaves it
        unread too, as only the operator may read it)."""
        if topic in RETIRED_TOPICS:
            return True
        return offset < self.first_retained.get((topic, partition), 0)
