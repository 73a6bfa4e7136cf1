"""The audit timeline's "no effect" marks: a referral's events read back from the log and
folded with the shared lifecycle, each marked applied, no effect (with the refusal's code)
or unknown; in the API's JSON, the sealed export and the HTML report."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas import (
    CancellationReason,
    ConsultationPurpose,
    EventData,
    ReferralConsulted,
    make_envelope,
    serialize_event,
)
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

from services.audit.chain import GENESIS, LedgerEntry, make_entry
from services.audit.effects import APPLIED, UNKNOWN, RecordKey, effects, record_key
from services.audit.entries import RecordFacts, describe
from services.audit.export import Export, render
from services.audit.signing import SigningKey
from services.audit.views import timeline_json
from services.audit_tools.file_check import verify_file
from services.audit_tools.report import render_html
from tests.support.referral_log import AGENCY, OTHER_AGENCY, ReferralLog

pytestmark = pytest.mark.unit
LOG = ReferralLog()


def _bytes(data: EventData, topic_subject: str) -> bytes:
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source="referral-hub/test",
        time=datetime(2026, 3, 14, tzinfo=UTC),
        subject=topic_subject,
        correlation_id=LOG.referral_id,
        causation_id=None,
        actor="system:test",
    )
    return serialize_event(envelope)


def _ledger(records: list[tuple[str, bytes]]) -> tuple[list[LedgerEntry], dict[RecordKey, bytes]]:
    """Entries as the ledger would append them (offsets in order), and the records' bytes."""
    entries, values = [], {}
    previous, referral_previous = GENESIS, None
    for position, (topic, value) in enumerate(records, start=1):
        record = RecordFacts(topic, 0, position * 10, None, str(LOG.referral_id).encode(), value)
        entry = make_entry(position, previous, describe(record), referral_previous)
        previous, referral_previous = entry.hash, entry.referral_hash
        entries.append(entry)
        values[record_key(entry)] = value
    return entries, values


def _resurrected() -> list[tuple[str, bytes]]:
    """Defect 1's log: Opened > Routed > Cancelled(moved_away) > Routed(late) > Accepted,
    with an auditor's consultation in between."""
    rid = str(LOG.referral_id)
    consulted = ReferralConsulted(
        referral_id=LOG.referral_id,
        user="auditor-1",
        agency=None,
        role="auditor",
        purpose=ConsultationPurpose.AUDIT,
        consulted_at=LOG.at(1),
        via="test",
    )
    events = [
        LOG.opened(),
        LOG.routed(AGENCY),
        LOG.cancelled(CancellationReason.MOVED_AWAY, hours=1),
        LOG.routed(OTHER_AGENCY, hours=2),
        LOG.accepted(OTHER_AGENCY, hours=3),
    ]
    records = [(REFERRAL_EVENTS, _bytes(e, rid)) for e in events]
    return [*records[:3], (ACCESS_EVENTS, _bytes(consulted, rid)), *records[3:]]


def test_events_after_the_cancellation_are_marked_no_effect_with_the_reason() -> None:
    entries, values = _ledger(_resurrected())
    marks = effects(entries, values)
    assert [marks.get(e.position) for e in entries] == [
        APPLIED,
        APPLIED,
        APPLIED,
        None,  # a consultation is not a referral event
        "no effect: referral_cancelled",
        "no effect: referral_cancelled",
    ]


def test_a_record_that_cannot_be_read_back_leaves_it_and_what_follows_unknown() -> None:
    entries, values = _ledger(_resurrected())
    del values[record_key(entries[1])]  # past retention
    marks = effects(entries, values)
    assert [marks[e.position] for e in entries if e.position in marks] == [APPLIED] + [UNKNOWN] * 4


def test_bytes_other_than_the_ones_ledgered_are_not_trusted() -> None:
    entries, values = _ledger(_resurrected())
    key = record_key(entries[0])
    values[key] = values[key].replace(b"LA14", b"LA15")
    assert set(effects(entries, values).values()) == {UNKNOWN}


def test_the_timeline_json_carries_the_effect_beside_the_hashed_fields() -> None:
    entries, values = _ledger(_resurrected())
    body = timeline_json(entries, effects(entries, values))
    assert [item["effect"] for item in body][-2:] == ["no effect: referral_cancelled"] * 2
    assert body[3]["effect"] is None
    assert body[0]["hash"] == entries[0].hash.hex()


def test_the_export_and_its_report_show_the_marks_and_still_verify() -> None:
    entries, values = _ledger(_resurrected())
    export = Export({"referral_id": str(LOG.referral_id)}, entries, None, 6, entries[-1].hash.hex())
    marked = replace(export, effects=effects(entries, values))
    key = SigningKey(Ed25519PrivateKey.generate())
    data = render(marked, key, LOG.at(10))
    assert data.count(b'"effect":"no effect: referral_cancelled"') == 2
    assert verify_file(data).ok
    html = render_html(data, marked)
    assert html.count("no effect: referral_cancelled") == 2
    assert b'"effect"' not in render(export, key, LOG.at(10))
