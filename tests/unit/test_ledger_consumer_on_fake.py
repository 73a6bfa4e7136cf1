"""The ledger consumer's batch handling (ledger_consumer.append_fetched) on the in-memory
ledger store: a fetched batch is ledgered across topics in record-time order, a redelivered
batch changes nothing, a failure is retried until the batch is stored, and no record is ever
dropped. tests/integration/test_ledger_store_contract.py holds the fake to the database."""

import json
import uuid
from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from referral_schemas import load_sample
from referral_schemas.topics import ACCESS_EVENTS, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from infra.event_keys import ensure_event_keys
from infra.settings import InfraSettings
from services.audit.entries import RecordFacts
from services.audit.ledger_consumer import Fetched, append_fetched
from services.audit.ledger_store import InMemoryLedgerStore
from services.audit.store import AppendCounts
from services.runtime.consumer import RetryPolicy
from services.runtime.provenance import TrustStore, Verdict
from tests.support.provenance import signed, trust_of
from tests.support.referral_log import ReferralLog, published

pytestmark = pytest.mark.unit
NO_WAIT = RetryPolicy(base_delay_s=0.0, max_delay_s=0.0)
REFERRALS = TopicPartition(REFERRAL_EVENTS, 0)
ACCESS = TopicPartition(ACCESS_EVENTS, 2)
INTELLIGENCE = TopicPartition(POLICE_INTELLIGENCE, 1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Event keys and a trust store of this module's own (no stack needed)."""
    root = tmp_path_factory.mktemp("keys")
    return ensure_event_keys(InfraSettings(state_dir=root, kafka_forces="cumbria"))


@pytest.fixture
def trust(env: dict[str, str]) -> TrustStore:
    return trust_of(env)


def _consumed(
    env: dict[str, str] | None, tp: TopicPartition, offset: int, at_s: int, value: bytes
) -> "ConsumerRecord[bytes, bytes]":
    """A record as ``getmany`` returns it, signed by its rightful producer (``env``), or
    unsigned (None); ``at_s``: its record time in seconds."""
    key = b"cumbria:CUM/2026/000001" if tp.topic == POLICE_INTELLIGENCE else b"key"
    headers = [] if env is None else signed(env, tp.topic, key, value)
    return ConsumerRecord(
        tp.topic,
        tp.partition,
        offset,
        at_s * 1000,
        0,
        key,
        value,
        None,
        len(key),
        len(value),
        headers,
    )


def _sample(name: str, referral_id: uuid.UUID) -> bytes:
    """A golden sample about ``referral_id``, with an id of its own."""
    event = json.loads(load_sample(name))
    event["id"], event["subject"] = str(uuid.uuid4()), str(referral_id)
    event["data"]["referral_id"] = str(referral_id)
    return json.dumps(event).encode()


def _where(record: "ConsumerRecord[bytes, bytes]") -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


def _history(env: dict[str, str]) -> Fetched:
    """A referral's events, its consultations and unreadable intelligence, interleaved in
    time across three partitions."""
    log = ReferralLog()
    cid = uuid.uuid4()
    opened, routed, accepted = (published(d, cid) for d in log.worked_to_a_close()[:3])
    consulted = _sample("ReferralConsulted.v1", log.referral_id)
    return {
        REFERRALS: [
            _consumed(env, REFERRALS, 10, 1, opened),
            _consumed(env, REFERRALS, 11, 4, routed),
            _consumed(env, REFERRALS, 12, 6, accepted),
        ],
        ACCESS: [_consumed(env, ACCESS, 7, 2, consulted), _consumed(None, ACCESS, 8, 5, b"{}")],
        INTELLIGENCE: [_consumed(env, INTELLIGENCE, 3, 3, b"\x00 not an event")],
    }


async def test_records_across_topics_are_ledgered_in_record_time_order(
    env: dict[str, str], trust: TrustStore
) -> None:
    ledger = InMemoryLedgerStore()
    fetched = _history(env)

    counts, offsets = await append_fetched(ledger, fetched, NO_WAIT, trust)

    by_time = sorted((r for rs in fetched.values() for r in rs), key=lambda r: r.timestamp)
    entries = await ledger.entries()
    assert counts == AppendCounts(appended=6)
    assert [(e.content.topic, e.content.partition, e.content.offset) for e in entries] == [
        _where(r) for r in by_time
    ]
    assert [e.content.record_timestamp_ms for e in entries] == [1000 * s for s in range(1, 7)]
    assert offsets == {REFERRALS: 13, ACCESS: 9, INTELLIGENCE: 4}


async def test_a_redelivered_batch_changes_nothing(env: dict[str, str], trust: TrustStore) -> None:
    ledger = InMemoryLedgerStore()
    fetched = _history(env)
    await append_fetched(ledger, fetched, NO_WAIT, trust)
    before = (await ledger.entries(), await ledger.head(), dict(ledger.copies))

    counts, offsets = await append_fetched(ledger, fetched, NO_WAIT, trust)

    assert counts == AppendCounts(already=6)
    assert (await ledger.entries(), await ledger.head(), ledger.copies) == before
    assert offsets == {REFERRALS: 13, ACCESS: 9, INTELLIGENCE: 4}, "committed again"


class FailingOnce(InMemoryLedgerStore):
    """Its first append fails (the database went away), the rest succeed."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def append(self, records: Sequence[RecordFacts], trust: TrustStore) -> AppendCounts:
        self.attempts += 1
        if self.attempts == 1:
            raise ConnectionResetError("connection lost")
        return await super().append(records, trust)


class FailingMidway(TrustStore):
    """A trust store whose check of the third record it is asked about fails, once: the
    first append fails part-way through its batch."""

    def __init__(self, real: TrustStore) -> None:
        super().__init__(real.path)
        self.checked = 0

    def verify(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> Verdict:
        self.checked += 1
        if self.checked == 3:
            raise OSError("trust store unreadable")
        return super().verify(topic, key, value, headers)


async def test_a_failed_append_is_retried_until_the_batch_is_stored(
    env: dict[str, str], trust: TrustStore
) -> None:
    ledger = FailingOnce()

    counts, _ = await append_fetched(ledger, _history(env), NO_WAIT, trust)

    assert ledger.attempts == 2
    assert counts == AppendCounts(appended=6)
    assert len(await ledger.entries()) == 6


async def test_a_batch_that_fails_part_way_keeps_nothing_until_it_is_stored_whole(
    env: dict[str, str], trust: TrustStore
) -> None:
    ledger = InMemoryLedgerStore()
    flaky = FailingMidway(trust)

    counts, _ = await append_fetched(ledger, _history(env), NO_WAIT, flaky)

    assert flaky.checked > 6, "the batch was tried again from its first record"
    assert counts == AppendCounts(appended=6), "nothing of the failed attempt was kept"
    assert [e.position for e in await ledger.entries()] == [1, 2, 3, 4, 5, 6]


async def test_nothing_is_dropped_unreadable_forged_resent_or_empty(
    env: dict[str, str], trust: TrustStore
) -> None:
    ledger = InMemoryLedgerStore()
    value = published(ReferralLog().opened(), uuid.uuid4())
    fetched: Fetched = {
        REFERRALS: [
            _consumed(env, REFERRALS, 1, 1, value),
            _consumed(None, REFERRALS, 2, 2, b"\xff\xfe not json"),
            _consumed(None, REFERRALS, 3, 3, published(ReferralLog().opened(), uuid.uuid4())),
            _consumed(env, REFERRALS, 4, 4, value),  # the same event, resent
            _consumed(None, REFERRALS, 5, 5, b""),
        ],
        INTELLIGENCE: [_consumed(None, INTELLIGENCE, 9, 6, b"{}")],
    }

    counts, offsets = await append_fetched(ledger, fetched, NO_WAIT, trust)

    sent = {_where(r) for rs in fetched.values() for r in rs}
    entries = await ledger.entries()
    kept = {(e.content.topic, e.content.partition, e.content.offset) for e in entries}
    assert counts == AppendCounts(appended=5, copies=1)
    assert kept | set(ledger.copies) == sent
    assert ledger.copies == {(REFERRAL_EVENTS, 0, 4): 1}
    assert [e.content.provenance for e in entries] == [
        "verified",
        "bad_signature",
        "bad_signature",
        "bad_signature",
        "bad_signature",
    ]
    assert offsets == {REFERRALS: 6, INTELLIGENCE: 10}
