"""What the ledger keeps of a record: metadata, s.62 category, recipients, a hash of the
bytes, and nothing of the personal data or narrative the record carries."""

import json
from typing import Any

import pytest
from referral_schemas import load_sample
from referral_schemas.topics import (
    ACCESS_EVENTS,
    DEAD_LETTER,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from services.audit.entries import RecordFacts, describe, sha256_hex
from tests.support.intelligence import encode, key_of, submitted

pytestmark = pytest.mark.unit


def _record(topic: str, value: bytes, key: bytes | None = b"k", offset: int = 7) -> RecordFacts:
    return RecordFacts(topic, 2, offset, 1_700_000_000_000, key, value)


def _sample(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_sample(name))
    return body


def test_intelligence_is_collection_and_nothing_personal_is_kept() -> None:
    message = submitted()
    raw = encode(message)
    entry = describe(_record(POLICE_INTELLIGENCE, raw, key_of(message).encode()))
    canonical = entry.canonical(1).decode()
    assert (entry.category, entry.type, entry.subject) == (
        "collection",
        "IntelligenceSubmitted",
        key_of(message),
    )
    assert entry.value_sha256 == sha256_hex(raw)
    assert entry.value_bytes == len(raw)
    data = message["data"]
    for personal in (
        data["subject"]["family_name"],
        data["subject"]["given_name"],
        data["address"]["line1"],
        data["address"]["postcode"],
        data["narrative"],
        data["source_reference"],
    ):
        assert personal not in canonical


def test_unparseable_intelligence_is_still_ledgered_as_collection_by_its_hash() -> None:
    entry = describe(_record(POLICE_INTELLIGENCE, b"Jane Doe, 1 High St \xff", key=None))
    assert (entry.category, entry.parse_error, entry.type, entry.key_sha256) == (
        "collection",
        "not_utf8",
        None,
        None,
    )
    assert "Jane" not in entry.canonical(1).decode()
    assert entry.identity() == f"record:{POLICE_INTELLIGENCE}:2:7"


def test_a_dead_letter_keeps_why_and_where_from_but_not_the_detail() -> None:
    headers = (
        ("dlq.reason", b"not_json"),
        ("dlq.detail", b"line 1 column 2: Jane Doe"),
        ("dlq.consumer", b"intake/police.intelligence"),
        ("dlq.source.topic", b"police.intelligence"),
        ("dlq.source.partition", b"3"),
        ("dlq.source.offset", b"41"),
    )
    record = RecordFacts(DEAD_LETTER, 0, 9, None, b"k", b"{not json", headers)
    entry = describe(record)
    assert entry.dead_letter == {
        "reason": "not_json",
        "consumer": "intake/police.intelligence",
        "source_topic": "police.intelligence",
        "source_partition": 3,
        "source_offset": 41,
    }
    assert entry.category is None
    assert "Jane" not in entry.canonical(1).decode()
    assert entry.identity() == "dlq:intake/police.intelligence:police.intelligence:3:41"


def test_a_dead_lettered_event_is_not_counted_as_the_act_it_describes() -> None:
    entry = describe(_record(DEAD_LETTER, load_sample("ReferralRouted.v1")))
    assert entry.type == "ReferralRouted"
    assert (entry.category, entry.recipients) == (None, ())


def test_disclosures_name_their_recipients() -> None:
    routed = _sample("ReferralRouted.v1")
    entry = describe(_record(REFERRAL_EVENTS, load_sample("ReferralRouted.v1")))
    assert entry.category == "disclosure"
    assert entry.recipients == (f"agency:{routed['data']['agency']}",)
    assert entry.purpose == f"isa:{routed['data']['isa_version']}"
    rerouted = _sample("ReferralRerouted.v1")
    entry = describe(_record(REFERRAL_EVENTS, load_sample("ReferralRerouted.v1")))
    assert entry.recipients == (f"agency:{rerouted['data']['to_agency']}",)
    outcome = _sample("OutcomeReported.v1")
    entry = describe(_record(POLICE_OUTCOMES, load_sample("OutcomeReported.v1")))
    assert (entry.category, entry.recipients) == (
        "disclosure",
        (f"force:{outcome['data']['force']}",),
    )


def test_a_consultation_names_who_and_why() -> None:
    consulted = _sample("ReferralConsulted.v1")
    entry = describe(_record(ACCESS_EVENTS, load_sample("ReferralConsulted.v1")))
    assert entry.category == "consultation"
    assert entry.actor == consulted["actor"]
    assert entry.purpose == consulted["data"]["purpose"]
    assert str(entry.referral_id) == consulted["data"]["referral_id"]


@pytest.mark.parametrize(
    ("sample", "category"),
    [
        ("ReferralLinked.v1", "combination"),
        ("ReferralOpened.v2", "alteration"),
        ("SlaBreached.v1", "alteration"),
        ("ReferralClosed.v1", "alteration"),
        ("IntelligenceWithdrawn.v1", "alteration"),
        ("DirectoryPublished.v1", None),
    ],
)
def test_s62_category_of_each_kind_of_event(sample: str, category: str | None) -> None:
    assert describe(_record(REFERRAL_EVENTS, load_sample(sample))).category == category


def test_opened_referrals_remember_the_intelligence_they_came_from() -> None:
    opened = _sample("ReferralOpened.v2")["data"]
    entry = describe(_record(REFERRAL_EVENTS, load_sample("ReferralOpened.v2")))
    assert entry.intelligence == f"{opened['force']}:{opened['intelligence_ref']}"


def test_the_same_record_always_gives_the_same_bytes_and_a_resend_the_same_identity() -> None:
    raw = load_sample("ReferralAccepted.v1")
    first = describe(_record(REFERRAL_EVENTS, raw, offset=7))
    again = describe(_record(REFERRAL_EVENTS, raw, offset=7))
    resent = describe(_record(REFERRAL_EVENTS, raw, offset=99))
    assert first.canonical(5) == again.canonical(5)
    assert first.canonical(5) != first.canonical(6)
    assert resent.identity() == first.identity()
