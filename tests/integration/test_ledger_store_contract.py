"""One contract, two stores: the ledger's PostgreSQL store and the in-memory fake the ledger
consumer's tests use append alike (order, redelivery, copies, unreadable and forged records,
both hash chains), so a consumer test on the fake says what the service does."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.audit.chain import build_chain, walk
from services.audit.entries import RecordFacts, entry_content
from services.audit.ledger_store import InMemoryLedgerStore, LedgerStore, PgLedgerStore
from services.runtime.db import create_pool
from services.runtime.provenance import TrustStore
from tests.integration.test_audit_support import (
    event_bytes,
    ledger_schema,
    record,
    referral_records,
)
from tests.support.provenance import signed, signer, trust_of

pytestmark = pytest.mark.integration
SUBMITTED = "IntelligenceSubmitted.v1"
"""The intelligence the referral samples are opened from: its collection has no referral."""


@pytest.fixture(params=["in-memory", "postgres"])
async def ledger(
    request: pytest.FixtureRequest, stack_env: dict[str, str]
) -> AsyncIterator[LedgerStore]:
    if request.param == "in-memory":
        yield InMemoryLedgerStore()
        return
    async with ledger_schema(stack_env) as schema:
        pool = await create_pool(schema.dsn, min_size=1, max_size=2)
        try:
            yield PgLedgerStore(pool)
        finally:
            await pool.close()


@pytest.fixture
def trust(stack_env: dict[str, str]) -> TrustStore:
    return trust_of(stack_env)


def _signed(env: dict[str, str], facts: RecordFacts) -> RecordFacts:
    """``facts`` signed by the producer that would publish it."""
    return replace(facts, headers=tuple(signed(env, facts.topic, facts.key, facts.value)))


async def test_records_are_appended_in_order_each_chained_to_the_head(
    ledger: LedgerStore, trust: TrustStore
) -> None:
    empty = await ledger.head()
    records = referral_records(uuid.uuid4())
    counts = await ledger.append(records, trust)
    entries = await ledger.entries()

    assert empty == (0, bytes(32))
    assert (counts.appended, counts.copies, counts.already) == (len(records), 0, 0)
    assert [e.position for e in entries] == list(range(1, len(records) + 1))
    assert [(e.content.topic, e.content.offset) for e in entries] == [
        (r.topic, r.offset) for r in records
    ]
    assert await ledger.head() == (len(records), entries[-1].hash)
    assert entries == build_chain(entry_content(r, trust) for r in records)


async def test_a_redelivered_record_is_skipped_and_counted_as_already_ledgered(
    ledger: LedgerStore, trust: TrustStore
) -> None:
    records = referral_records(uuid.uuid4())
    await ledger.append(records, trust)
    before = await ledger.entries()
    fresh = record(REFERRAL_EVENTS, event_bytes("ReferralAccepted.v1", uuid.uuid4()))

    again = await ledger.append(records, trust)
    mixed = await ledger.append([records[0], fresh, fresh, records[-1]], trust)

    assert (again.appended, again.copies, again.already) == (0, 0, len(records))
    assert (mixed.appended, mixed.copies, mixed.already) == (1, 0, 3)
    after = await ledger.entries()
    assert after[: len(before)] == before
    assert [e.content.offset for e in after[len(before) :]] == [fresh.offset]


async def test_a_resent_event_is_kept_as_a_copy_not_a_second_entry(
    ledger: LedgerStore, trust: TrustStore
) -> None:
    value = event_bytes("ReferralAccepted.v1", uuid.uuid4())
    original, resent = record(REFERRAL_EVENTS, value), record(REFERRAL_EVENTS, value)

    counts = await ledger.append([original, resent], trust)
    redelivered = await ledger.append([resent], trust)

    assert (counts.appended, counts.copies, counts.already) == (1, 1, 0)
    assert (redelivered.appended, redelivered.copies, redelivered.already) == (0, 0, 1)
    assert [e.content.offset for e in await ledger.entries()] == [original.offset]


async def test_an_unparseable_record_is_ledgered_too(
    ledger: LedgerStore, trust: TrustStore
) -> None:
    garbage = record(POLICE_INTELLIGENCE, b"\x00 not an event", None)
    empty = record(REFERRAL_EVENTS, b"", None)

    counts = await ledger.append([garbage, empty], trust)
    entries = await ledger.entries()

    assert counts.appended == 2
    assert [e.content.offset for e in entries] == [garbage.offset, empty.offset]
    assert all(e.content.parse_error for e in entries)
    assert all(e.content.event_id is None for e in entries)
    assert entries[0].content.category == "collection"
    assert entries[1].content.value_bytes == 0


async def test_each_entry_says_who_signed_it_and_a_forged_record_is_marked(
    ledger: LedgerStore, trust: TrustStore, stack_env: dict[str, str]
) -> None:
    rid = uuid.uuid4()
    genuine = _signed(stack_env, record(REFERRAL_EVENTS, event_bytes("ReferralOpened.v2", rid)))
    unsigned = record(REFERRAL_EVENTS, event_bytes("ReferralRouted.v1", rid))
    tampered = replace(
        record(REFERRAL_EVENTS, event_bytes("ReferralAccepted.v1", rid)), headers=genuine.headers
    )
    base = record(REFERRAL_EVENTS, event_bytes("ContactAttempted.v1", rid))
    wrong_key = signer(stack_env, "feedback").sign(base.topic, base.key, base.value, [])
    impostor = replace(base, headers=tuple(wrong_key))

    counts = await ledger.append([genuine, unsigned, tampered, impostor], trust)
    entries = await ledger.entries()

    assert counts.appended == 4
    assert [(e.content.producer, e.content.provenance) for e in entries] == [
        ("intake", "verified"),
        (None, "bad_signature"),
        (None, "bad_signature"),
        ("feedback", "untrusted_producer"),
    ]


async def test_the_chains_verify_after_appends(ledger: LedgerStore, trust: TrustStore) -> None:
    one, other = uuid.uuid4(), uuid.uuid4()
    await ledger.append(referral_records(one), trust)
    await ledger.append(referral_records(other), trust)
    await ledger.append(referral_records(one)[:2], trust)
    entries = await ledger.entries()

    walker = walk(entries, {e.hash: e.position for e in entries}.get)

    assert walker.first_finding() is None
    assert (walker.count, walker.head) == (len(entries), entries[-1].hash)
    assert set(walker.referral_heads) == {one, other}
    assert await ledger.head() == (walker.count, walker.head)


async def test_a_referrals_entries_come_with_its_intelligences_collection(
    ledger: LedgerStore, trust: TrustStore
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    submitted = record(POLICE_INTELLIGENCE, event_bytes(SUBMITTED), None)
    await ledger.append([submitted, *referral_records(mine)], trust)
    await ledger.append(referral_records(theirs), trust)
    entries = await ledger.entries()

    found = await ledger.referral_entries(mine)
    [collection] = [e for e in found if e.content.referral_id is None]

    assert found == [e for e in entries if e in found], "in ledger order"
    assert len(found) == 6, "five readable records about it, and the collection"
    assert collection.content.offset == submitted.offset
    assert {e.content.referral_id for e in found} == {mine, None}
    assert await ledger.referral_entries(uuid.uuid4()) == []
