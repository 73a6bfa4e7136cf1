"""One line per refused message in `hub deadletters list`, whoever refused it: refusals of
one record (same origin) are one message with the first refusal's id, the services that
refused it in order, and a purge shown only once it covers every refusal."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.topics import dead_letter_config
from services.hub.deadletter_groups import Refusal, group, purge_state
from services.runtime.dead_letter import ReceivedRecord, dead_letter_key, dead_letter_message

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def refusal(
    service: str, row_id: int, offset: int, minutes: int, reason: str = "bad_signature", **more: Any
) -> Refusal:
    row = {
        "id": row_id,
        "consumer": f"{service}/referral.events",
        "reason": reason,
        "detail": f"{reason} detail",
        "source_topic": "referral.events",
        "source_partition": 2,
        "source_offset": offset,
        "dead_lettered_at": T0 + timedelta(minutes=minutes),
        "replayed_at": None,
        "replayed_by": None,
        "replay_note": None,
        "purged_at": None,
        "purged_by": None,
        "purge_note": None,
        **more,
    }
    return Refusal(service, row)


def test_a_forgery_refused_by_five_consumers_is_one_message_naming_them_all() -> None:
    refusals = [
        refusal("insights", 7, 40, 3),
        refusal("intake", 3, 40, 0),
        refusal("casework", 12, 40, 1),
        refusal("routing", 5, 40, 1),
        refusal("feedback", 9, 40, 2),
        refusal("casework", 13, 41, 5, reason="unknown_referral"),
    ]

    newest, forged = group(refusals)

    assert forged.ident == "intake-3", "the first refusal names it"
    assert forged.services == ("intake", "casework", "routing", "feedback", "insights")
    assert forged.reasons == ("bad_signature",)
    assert forged.origin == ("referral.events", 2, 40)
    assert not any(r.replayable for r in forged.refusals)
    assert newest.ident == "casework-13"
    assert newest.services == ("casework",)
    assert newest.first.replayable


def test_a_purge_shows_once_every_refusal_is_purged_and_a_later_refusal_asks_again() -> None:
    purged: dict[str, Any] = {"purged_at": T0 + timedelta(hours=1), "purged_by": "operator:ann"}
    both = [refusal("intake", 3, 40, 0, **purged), refusal("casework", 12, 40, 1, **purged)]
    [message] = group(both)
    assert message.purged
    assert purge_state(message) == "2026-03-01 10:00 by operator:ann"

    late = refusal("insights", 7, 40, 90)  # a consumer that was down refuses it after
    [message] = group([*both, late])
    assert not message.purged, "its copy is on the topic again"
    assert message.refused_since_purge == ("insights",)
    assert "refused again since by insights: purge again" in purge_state(message)
    [fresh] = group([refusal("intake", 4, 42, 0)])
    assert purge_state(fresh) == ""


def test_every_consumer_keys_its_copy_of_one_record_alike() -> None:
    record = ReceivedRecord("referral.events", 2, 40, b"referral-id", b"{...}", ())
    copies = [dead_letter_message(record, c, "bad_signature", "d") for c in ("intake", "routing")]
    assert {m.key for m in copies} == {b"referral.events/2/40"}
    assert dead_letter_key("referral.events", 2, 41) != copies[0].key
    assert all(m.value == record.value for m in copies), "the refused record, unchanged"


def test_the_dead_letter_topic_is_compacted_and_still_kept_only_for_its_period() -> None:
    config = dead_letter_config(30)
    assert config["cleanup.policy"] == "compact,delete"
    assert int(config["retention.ms"]) == 30 * 24 * 60 * 60 * 1000
    assert int(config["segment.ms"]) <= 60 * 60 * 1000, "purged bytes cleanable within the hour"
    assert float(config["min.cleanable.dirty.ratio"]) < 0.5
