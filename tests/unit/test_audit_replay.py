"""Replay folds referral.events with casework's own fold and compares digests: the same
history gives the same digest, a missing or different state is named, and SLA breaches are
counted from the log, never invented."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from referral_schemas import load_sample
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

from services.audit.entries import VERIFIED, Provenance, RecordFacts, parse_record
from services.audit.ledger_consumer import in_record_time_order
from services.replay.folds import CaseworkReplay, Scope, compare_states

pytestmark = pytest.mark.unit
RID = uuid.uuid4()
_T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _record(sample: str, offset: int, topic: str = REFERRAL_EVENTS) -> RecordFacts:
    event = json.loads(load_sample(sample))
    event["id"] = str(uuid.uuid4())
    event["data"]["referral_id"] = str(RID)
    event["subject"] = str(RID)
    ms = int((_T0 + timedelta(hours=offset)).timestamp() * 1000)
    return RecordFacts(topic, 0, offset, ms, str(RID).encode(), json.dumps(event).encode())


HISTORY = [
    _record("ReferralOpened.v2", 0),
    _record("ReferralRouted.v1", 1),
    _record("ReferralConsulted.v1", 2, ACCESS_EVENTS),
    _record("SlaBreached.v1", 3),
    _record("ReferralAccepted.v1", 4),
]


def _replay(scope: Scope, records: list[RecordFacts] = HISTORY) -> CaseworkReplay:
    replay = CaseworkReplay(scope)
    for record in records:
        replay.feed(record, parse_record(record.value), Provenance("casework", VERIFIED))
    return replay


def test_a_record_whose_producer_is_not_trusted_is_not_folded() -> None:
    """Casework dead-letters a forged event; the replay must not fold it either."""
    replay = CaseworkReplay(Scope())
    for record in HISTORY[:2]:
        replay.feed(record, parse_record(record.value), Provenance("casework", VERIFIED))
    accepted = HISTORY[4]
    forged = Provenance(None, "bad_signature")
    replay.feed(accepted, parse_record(accepted.value), forged)
    assert replay.states[RID].status.value == "awaiting_acceptance"
    assert replay.events == 2


def test_the_same_history_gives_the_same_digest_and_breaches_come_from_the_log() -> None:
    first, again = _replay(Scope()), _replay(Scope())
    assert first.digests() == again.digests()
    assert first.sla_breaches == {RID: 1}
    assert first.events == 4, "consultations are not referral events"
    assert compare_states(first.digests(), again.digests(), Scope()).same


def test_differences_are_named_per_referral() -> None:
    full, shorter = _replay(Scope()), _replay(Scope(), HISTORY[:-1])
    other = uuid.uuid4()
    result = compare_states(full.digests(), {**shorter.digests(), other: "0" * 64}, Scope())
    assert not result.same
    assert result.rebuilt_digest != result.live_digest
    assert any(str(RID) in d and "state differs" in d for d in result.differences)
    assert any(str(other) in d and "topics do not rebuild it" in d for d in result.differences)


def test_a_window_compares_only_the_referrals_it_touched() -> None:
    late = Scope(start=_T0 + timedelta(days=1))
    replay = _replay(late)
    assert replay.digests() == {}
    live = _replay(Scope()).digests()
    assert compare_states(replay.digests(), live, late).compared == 0
    touched = _replay(Scope(start=_T0 + timedelta(hours=3)))
    assert set(touched.digests()) == {RID}


def test_a_batch_is_ledgered_in_record_time_order_each_partition_in_offset_order() -> None:
    def at(topic: str, offset: int, ms: int) -> RecordFacts:
        return RecordFacts(topic, 0, offset, ms, b"k", b"{}")

    events = [at(REFERRAL_EVENTS, 1, 100), at(REFERRAL_EVENTS, 2, 300)]
    reads = [at(ACCESS_EVENTS, 7, 200), at(ACCESS_EVENTS, 8, 150)]  # a late clock, in order

    merged = in_record_time_order([reads, events])

    assert [(r.topic, r.offset) for r in merged] == [
        (REFERRAL_EVENTS, 1),
        (ACCESS_EVENTS, 7),
        (ACCESS_EVENTS, 8),
        (REFERRAL_EVENTS, 2),
    ]
