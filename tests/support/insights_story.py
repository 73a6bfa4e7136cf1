"""A realistic two months of one area, for insights' integration and end-to-end tests, with
the figures it must give; tests/unit/test_insights_story.py checks the story is what its
docstring says."""

import uuid
from typing import Any

from referral_schemas import ContactResult, EngagementLevel, Outcome

from tests.support.insights_events import (
    Message,
    accepted,
    at,
    cancelled,
    closed,
    completed,
    contact,
    engagement,
    intelligence,
    opened,
    routed,
    visit,
    withdrawal,
)


def programme_story(area: str, district: str) -> list[Message]:
    """January and February 2024 of one area, in the order the services would publish it;
    the figures it must give are in STORY_FIGURES (months) and STORY_LINES (as of dates).

    Referrals (all routed to ``area``, addresses in ``district``; r1, r2 and r4 accepted a
    minute after routing): r1 opened 5 Jan 10:00, spoken to 10 hours later, visited,
    engaged, completed 20 Jan and closed 21 Jan (engaged_with_support); r2 opened 10 Jan
    08:00, no answer, visited 24 hours later and again, partially engaged, completed 3 Feb
    and closed 4 Feb (signposted); r3 opened 12 Jan, cancelled 13 Jan; r4 opened 1 Feb
    00:00, spoken to 4 hours later, declined support.
    Intelligence in ``district``: DANNY twice (two spellings), BOSS, OLDLINE just before
    January's window, K-LINE at the very start of February's, EDGE at its very end, ZED
    (then withdrawn as discredited), OPSLINE (withdrawn for operational sensitivity, still
    counts), MARCHLINE at 1 March 00:00, and one naming no line.
    """
    r1, r2, r3, r4 = (uuid.uuid4() for _ in range(4))
    zed = intelligence(district, "ZED", at("2024-02-15 12:00"))
    ops = intelligence(district, "OPSLINE", at("2024-02-20 12:00"))
    return [
        intelligence(district, "OLDLINE", at("2024-01-03 23:59")),
        intelligence(district, "DANNY", at("2024-01-10 09:00")),
        opened(r1, at("2024-01-05 10:00"), district),
        routed(r1, area, at("2024-01-05 10:01")),
        accepted(r1, at("2024-01-05 10:02")),
        contact(r1, at("2024-01-05 20:00"), ContactResult.SPOKE_TO_PERSON),
        visit(r1, at("2024-01-06 11:00")),
        engagement(r1, at("2024-01-06 11:30"), EngagementLevel.ENGAGED),
        opened(r2, at("2024-01-10 08:00"), district),
        routed(r2, area, at("2024-01-10 08:01")),
        accepted(r2, at("2024-01-10 08:02")),
        contact(r2, at("2024-01-10 12:00"), ContactResult.NO_ANSWER),
        visit(r2, at("2024-01-11 08:00")),
        opened(r3, at("2024-01-12 09:00"), district),
        routed(r3, area, at("2024-01-12 09:01")),
        cancelled(r3, at("2024-01-13 09:00")),
        visit(r2, at("2024-01-15 09:00")),
        engagement(r2, at("2024-01-15 09:30"), EngagementLevel.PARTIALLY_ENGAGED),
        completed(r1, at("2024-01-20 16:00"), Outcome.ENGAGED_WITH_SUPPORT),
        intelligence(district, " danny ", at("2024-01-20 09:00")),
        closed(r1, at("2024-01-21 09:00"), Outcome.ENGAGED_WITH_SUPPORT),
        intelligence(district, "BOSS", at("2024-01-25 09:00")),
        opened(r4, at("2024-02-01 00:00"), district),
        routed(r4, area, at("2024-02-01 00:01")),
        accepted(r4, at("2024-02-01 00:02")),
        contact(r4, at("2024-02-01 04:00"), ContactResult.SPOKE_TO_PERSON),
        intelligence(district, "K-LINE", at("2024-02-02 00:00")),
        engagement(r4, at("2024-02-02 10:00"), EngagementLevel.DECLINED_SUPPORT),
        completed(r2, at("2024-02-03 10:00"), Outcome.SIGNPOSTED),
        closed(r2, at("2024-02-04 10:00"), Outcome.SIGNPOSTED),
        intelligence(district, None, at("2024-02-10 10:00")),
        zed,
        withdrawal(zed, "discredited"),
        ops,
        withdrawal(ops, "operational_sensitivity"),
        intelligence(district, "EDGE", at("2024-02-29 23:59")),
        intelligence(district, "MARCHLINE", at("2024-03-01 00:00")),
    ]


def _no_outcomes(**counts: int) -> dict[str, int]:
    return {**{outcome.value: 0 for outcome in Outcome}, **counts}


STORY_FIGURES: dict[str, dict[str, Any]] = {
    "2024-01": {
        "referrals_opened": 3,
        "visits_completed": 3,
        "referrals_contacted": 2,
        "median_hours_to_first_contact": 17.0,
        "engagement_known": 2,
        "engaged": 1,
        "engagement_rate": 0.5,
        "outcomes": _no_outcomes(engaged_with_support=1),
        "referrals_cancelled": 1,
        "active_county_lines": 2,
    },
    "2024-02": {
        "referrals_opened": 1,
        "visits_completed": 0,
        "referrals_contacted": 1,
        "median_hours_to_first_contact": 4.0,
        "engagement_known": 1,
        "engaged": 0,
        "engagement_rate": 0.0,
        "outcomes": _no_outcomes(signposted=1),
        "referrals_cancelled": 0,
        "active_county_lines": 3,
    },
}
"""What programme_story must give, per month, for its area."""

STORY_LINES = {"2024-01-03": 1, "2024-01-31": 2, "2024-02-29": 3, "2024-03-28": 1}
"""Active county lines of programme_story's area as of these dates."""
