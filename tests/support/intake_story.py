"""Building blocks for unit tests of intake's pure decide/evolve: intelligence from the
golden sample, decisions taken as the handlers take them, and the lifecycle events that
routing and casework would publish."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from referral_schemas import (
    EventData,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    Outcome,
    ReferralAccepted,
    ReferralClosed,
    ReferralCompleted,
    ReferralRouted,
    load_sample,
    parse_event,
)
from referral_schemas.lifecycle import Refusal

from services.intake import domain
from services.intake.contents import piece_of
from services.intake.matching import match_keys
from services.intake.state import Decision, Fresh, Matches, ReferralState, Submission, Withdrawal
from tests.support.sealing import seal_details

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SECRET = b"unit-test-secret"
AGENCY = "twc-barrow"


def intel(**changes: Any) -> IntelligenceSubmitted:
    raw = json.loads(load_sample("IntelligenceSubmitted.v1"))
    raw["data"].update(changes)
    data = parse_event(json.dumps(raw).encode()).data
    assert isinstance(data, IntelligenceSubmitted)
    return data


def person(given: str, family: str, born: str = "1990-01-01") -> dict[str, Any]:
    return {"given_name": given, "family_name": family, "date_of_birth": born}


def fresh(at: datetime = NOW) -> Fresh:
    return Fresh(now=at, referral_id=uuid.uuid4(), isa_version="isa-v1", seal=seal_details)


def submit(
    submitted: IntelligenceSubmitted,
    live: ReferralState | None = None,
    previous: uuid.UUID | None = None,
    *,
    withdrawn_before: bool = False,
    already_received: bool = False,
) -> Decision | Refusal:
    keys = match_keys(submitted.subject, submitted.address, SECRET)
    piece = piece_of(submitted, keys, event_id=uuid.uuid4(), received_at=NOW)
    situation = Submission(piece, already_received, withdrawn_before, Matches(live, previous))
    return domain.decide(situation, fresh())


def decided(result: Decision | Refusal) -> Decision:
    assert isinstance(result, Decision), result
    return result


def only_event(decision: Decision) -> EventData:
    assert len(decision.events) == 1, decision.events
    return decision.events[0]


def saved(decision: Decision) -> ReferralState:
    return decision.saves[0]


def withdrawal(ref: str, reason: str = "discredited") -> IntelligenceWithdrawn:
    return IntelligenceWithdrawn(
        force="cumbria", intelligence_ref=ref, reason=reason, withdrawn_at=NOW
    )


def withdraw(
    referral: ReferralState | None, ref: str, reason: str = "discredited", *, received: bool = True
) -> Decision:
    situation = Withdrawal(withdrawal(ref, reason), received=received, referral=referral)
    return decided(domain.decide(situation, fresh()))


def fold(state: ReferralState, *events: EventData) -> ReferralState:
    """Every event must have an effect."""
    for data in events:
        result = domain.evolve(state, data)
        assert not isinstance(result, Refusal), result
        state = result
    return state


def worked_and_closed(referral_id: uuid.UUID) -> list[EventData]:
    """What routing and casework publish for a referral offered, accepted, worked, closed."""
    later = NOW + timedelta(days=3)
    return [
        ReferralRouted(
            referral_id=referral_id,
            agency=AGENCY,
            area="barrow",
            due_by=NOW + timedelta(days=2),
            routed_at=NOW,
            directory_version=1,
            isa_version="isa-v1",
        ),
        ReferralAccepted(referral_id=referral_id, agency=AGENCY, accepted_at=NOW, by="w-1"),
        ReferralCompleted(
            referral_id=referral_id,
            agency=AGENCY,
            outcome=Outcome.ENGAGED_WITH_SUPPORT,
            completed_at=later,
            by="w-1",
        ),
        ReferralClosed(
            referral_id=referral_id,
            agency=AGENCY,
            outcome=Outcome.ENGAGED_WITH_SUPPORT,
            closed_at=later,
            by="w-1",
        ),
    ]
