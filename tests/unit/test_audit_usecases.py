"""The auditors' use cases on the in-memory store: a timeline read and an export are each
recorded as a consultation (one per referral, purpose "audit"), a referral the ledger holds
nothing about records nothing, the period search counts and pages, and the verification
names a changed entry."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas import ConsultationPurpose, ReferralConsulted, parse_event
from referral_schemas.topics import ACCESS_EVENTS

from services.audit import usecases
from services.audit.auditor_store import ExportScope, InMemoryAuditorStore
from services.audit.chain import LedgerEntry, build_chain
from services.audit.entries import EntryContent, time_text
from services.audit.signing import SigningKey
from services.audit_tools.file_check import verify_file
from services.runtime.auth import Identity
from tests.support.clock import FixedClock

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 14, 9, tzinfo=UTC)
CLOCK = FixedClock(T0 + timedelta(days=1))
AUDITOR = Identity(user="aud-0001", role="auditor", agency=None, force=None)
EARLY, LATE, STRANGER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
CORRELATION = uuid.uuid4()


def _content(offset: int, referral: uuid.UUID | None, **fields: object) -> EntryContent:
    return EntryContent(
        topic="hub.referrals",
        partition=0,
        offset=offset,
        record_timestamp_ms=None,
        key_sha256=None,
        value_sha256=f"{offset:064x}",
        value_bytes=100,
        referral_id=referral,
        **fields,  # type: ignore[arg-type]
    )


def _ledger() -> tuple[InMemoryAuditorStore, list[LedgerEntry]]:
    """EARLY (opened from intelligence "w-1", whose collection has no referral id, then
    consulted) ledgered in the first hour; LATE in the third."""
    contents = [
        _content(1, None, intelligence="w-1", category="collection"),
        _content(2, EARLY, intelligence="w-1", correlation_id=CORRELATION, category="event"),
        _content(3, EARLY, category="consultation"),
        _content(4, LATE, category="event"),
        _content(5, LATE, category="consultation"),
    ]
    entries = build_chain(contents)
    store = InMemoryAuditorStore()
    for entry, hour in zip(entries, [0, 0, 1, 2, 3], strict=True):
        store.add(entry, T0 + timedelta(hours=hour))
    return store, entries


def _consulted(store: InMemoryAuditorStore) -> list[tuple[ReferralConsulted, uuid.UUID]]:
    found = []
    for message in store.outbox:
        assert message.topic == ACCESS_EVENTS
        envelope = parse_event(message.value)
        assert isinstance(envelope.data, ReferralConsulted)
        assert message.key == str(envelope.data.referral_id).encode()
        found.append((envelope.data, envelope.correlationid))
    return found


async def test_a_timeline_read_is_recorded_as_the_auditors_consultation() -> None:
    store, _ = _ledger()

    shown = await usecases.timeline(store, AUDITOR, EARLY, CLOCK, records=None)

    assert [e["position"] for e in shown] == [1, 2, 3], "with its intelligence's collection"
    assert all(e["effect"] is None for e in shown), "no record source: no effects"
    [(consulted, correlation)] = _consulted(store)
    assert consulted.referral_id == EARLY
    assert (consulted.user, consulted.role) == ("aud-0001", "auditor")
    assert consulted.purpose is ConsultationPurpose.AUDIT
    assert consulted.via == usecases.TIMELINE_VIA
    assert consulted.consulted_at == CLOCK.now()
    assert correlation == CORRELATION, "the referral's own correlation id"


async def test_a_referral_the_ledger_does_not_hold_records_nothing() -> None:
    store, _ = _ledger()

    with pytest.raises(usecases.NothingLedgered):
        await usecases.timeline(store, AUDITOR, STRANGER, CLOCK, records=None)
    scope = ExportScope(referral=STRANGER)
    with pytest.raises(usecases.NothingLedgered):
        await usecases.export(store, AUDITOR, scope, _key(), CLOCK, records=None)

    assert store.outbox == []


async def test_the_period_search_counts_pages_and_records_nothing() -> None:
    store, _ = _ledger()

    everything = await usecases.referrals(store, usecases.Period(), page=1, page_size=50)
    first_hours = usecases.Period(T0, T0 + timedelta(hours=2))
    early_only = await usecases.referrals(store, first_hours, page=1, page_size=50)
    second_page = await usecases.referrals(store, usecases.Period(), page=2, page_size=1)

    assert everything["total"] == 2
    assert [r["referral_id"] for r in everything["referrals"]] == [str(LATE), str(EARLY)]
    early = everything["referrals"][1]
    assert (early["entries"], early["consultations"]) == (2, 1)
    assert early["first_at"] == time_text(T0)
    assert [r["referral_id"] for r in early_only["referrals"]] == [str(EARLY)]
    assert (early_only["from"], early_only["to"]) == (time_text(T0), time_text(first_hours.end))
    assert second_page["total"] == 2
    assert [r["referral_id"] for r in second_page["referrals"]] == [str(EARLY)]
    assert store.outbox == []


def _key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


async def test_an_export_is_sealed_and_each_referral_in_it_is_consulted() -> None:
    store, _ = _ledger()
    key = _key()

    one = await usecases.export(store, AUDITOR, ExportScope(EARLY), key, CLOCK, records=None)
    assert [c.referral_id for c, _ in _consulted(store)] == [EARLY]
    store.outbox.clear()
    period = ExportScope(start=T0 + timedelta(hours=1))
    both = await usecases.export(store, AUDITOR, period, key, CLOCK, records=None)

    assert verify_file(one, key.public).ok
    assert verify_file(both, key.public).ok
    assert verify_file(one, key.public).entries == 3
    assert verify_file(both, key.public).entries == 3, "positions 3 to 5"
    consulted = _consulted(store)
    assert {c.referral_id for c, _ in consulted} == {EARLY, LATE}
    assert all(c.via == usecases.EXPORT_VIA for c, _ in consulted)


async def test_the_verification_names_a_changed_entry() -> None:
    store, entries = _ledger()
    public = _key().public

    intact = await usecases.verification(store, public)
    changed = replace(entries[2], content=replace(entries[2].content, actor="someone"))
    store.entries[2] = (changed, store.entries[2][1])
    broken = await usecases.verification(store, public)

    assert intact["ok"] is True
    assert intact["entries_verified"] == 5
    assert broken["ok"] is False
    assert broken["first_bad_entry"] == 3
