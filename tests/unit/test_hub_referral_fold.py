"""The hub's view of referrals: referral.events folded with the shared lifecycle, so
`hub referrals list` and `hub referrals show` say what every service says."""

import json
import uuid
from datetime import timedelta

import pytest
from referral_schemas import (
    CancellationReason,
    EventData,
    ReferralCancelled,
    ReferralOpened,
    make_envelope,
    serialize_event,
)
from referral_schemas.topics import REFERRAL_EVENTS

from services.hub.referral_fold import fold_referrals
from services.hub.referrals_commands import as_json
from services.hub.timeline_commands import timeline, timeline_json
from services.hub.topic_reader import LogRecord
from tests.support.intake_story import NOW, decided, intel, only_event, submit, worked_and_closed

pytestmark = pytest.mark.unit


def _bytes(data: EventData) -> bytes:
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source="test",
        time=NOW,
        subject=data.kafka_key(),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor="system:test",
    )
    return serialize_event(envelope)


def _opened() -> ReferralOpened:
    opened = only_event(decided(submit(intel())))
    assert isinstance(opened, ReferralOpened)
    return opened


def _cancelled(opened: ReferralOpened) -> ReferralCancelled:
    return ReferralCancelled(
        referral_id=opened.referral_id,
        reason=CancellationReason.MOVED_AWAY,
        cancelled_at=NOW + timedelta(minutes=1),
    )


def test_each_referral_shows_the_status_the_lifecycle_folds_to() -> None:
    worked, offered, cancelled = _opened(), _opened(), _opened()
    routed, *rest = worked_and_closed(worked.referral_id)
    log = [
        worked,
        offered,
        cancelled,
        routed,
        *rest,
        worked_and_closed(offered.referral_id)[0],
        _cancelled(cancelled),
        # Routing decided on the opening; its offer lands after the cancellation: no effect.
        worked_and_closed(cancelled.referral_id)[0],
    ]
    folded = fold_referrals(_bytes(e) for e in log)
    status = {rid: str(s.lifecycle.status) for rid, s in folded.items()}
    assert status == {
        str(worked.referral_id): "closed",
        str(offered.referral_id): "awaiting_acceptance",
        str(cancelled.referral_id): "cancelled",
    }
    shown = as_json(folded[str(offered.referral_id)])
    assert shown["agency"] == "twc-barrow"
    assert shown["risk_level"] == "high"
    assert shown["intelligence_refs"] == ["CUM/2025/004217"]
    assert "Marsh" not in str(shown), "no names in the operator's listing"
    assert as_json(folded[str(cancelled.referral_id)])["cancel_reason"] == "moved_away"


def test_the_timeline_marks_an_event_that_had_no_effect() -> None:
    opened = _opened()
    late_offer = worked_and_closed(opened.referral_id)[0]
    records = [
        LogRecord(REFERRAL_EVENTS, 0, offset, _bytes(data))
        for offset, data in enumerate([opened, _cancelled(opened), late_offer])
    ]
    rows = {row.event: row for row in timeline(records)}
    assert rows["ReferralRouted"].details.startswith("no effect: referral_cancelled")
    assert "no effect" not in rows["ReferralCancelled"].details
    assert "no effect" not in rows["ReferralOpened"].details


def test_the_timeline_as_json_gives_each_event_its_effect_and_no_names() -> None:
    opened = _opened()
    late_offer = worked_and_closed(opened.referral_id)[0]
    records = [
        LogRecord(REFERRAL_EVENTS, 3, offset, _bytes(data))
        for offset, data in enumerate([opened, _cancelled(opened), late_offer])
    ]
    records.append(LogRecord(REFERRAL_EVENTS, 3, 9, b"not json"))
    shown = timeline_json(str(opened.referral_id), timeline(records))
    assert shown["referral_id"] == str(opened.referral_id)
    effects = {r["event"]: r["effect"] for r in shown["records"]}
    assert effects == {
        "ReferralOpened": "applied",
        "ReferralCancelled": "applied",
        "ReferralRouted": "no effect: referral_cancelled",
        "(unreadable record)": None,
    }
    routed = next(r for r in shown["records"] if r["event"] == "ReferralRouted")
    assert (routed["topic"], routed["partition"], routed["offset"]) == (REFERRAL_EVENTS, 3, 2)
    assert (routed["fields"]["area"], routed["agency"]) == ("barrow", "twc-barrow")
    assert "Marsh" not in json.dumps(shown), "no names"
    assert "subject" not in json.dumps(shown)
