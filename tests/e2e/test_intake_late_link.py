"""The race: intake links new intelligence to an open referral, but the referral's closure
reaches the log before the link does. The log's order decides: the link has no effect,
and intake opens a new referral for that intelligence, naming the closed one.

The order is made certain with real locks, not timing: the test holds intake's relay
leader lock, so the committed link waits in the outbox while the closure is published.
"""

from collections.abc import Callable

import asyncpg
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import (
    event_about,
    wait_intake_status,
    wait_outbox_empty,
    worked_and_closed,
)
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import send, wait_committed, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
RELAY_LOCK = "SELECT pg_try_advisory_lock(hashtext('outbox-relay/intake'))"
RELAY_UNLOCK = "SELECT pg_advisory_unlock(hashtext('outbox-relay/intake'))"


async def test_a_link_that_lands_after_the_closure_opens_a_new_referral(
    bootstrap: str, stack_env: dict[str, str], spawn: Callable[..., ServiceProcess]
) -> None:
    first = submitted()
    late = submitted(subject=first["data"]["subject"], indicators=["debt_bondage"])
    late_ref = late["data"]["intelligence_ref"]
    holder = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    try:
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            opener = spawn("intake", "intake-late-link-a")
            await send(bootstrap, POLICE_INTELLIGENCE, key_of(first), [encode(first)])
            opened = await events.wait_for(
                event_about("ReferralOpened", first["data"]["intelligence_ref"])
            )
            referral_id = opened[0].json()["data"]["referral_id"]
            # Stopped only once its relay has deleted what it published; otherwise the next
            # relay publishes the ReferralOpened again (at least once, harmless but noisy).
            await wait_outbox_empty(holder)
            opener.stop()
            # The next intake commits its decisions but cannot publish them yet.
            assert await holder.fetchval(RELAY_LOCK), "another intake relay is running"
            spawn("intake", "intake-late-link-b")
            sent = await send(bootstrap, POLICE_INTELLIGENCE, key_of(late), [encode(late)])
            await wait_committed(bootstrap, "intake", sent[0])
            basis = await holder.fetchval(
                "SELECT link_basis FROM intelligence WHERE intelligence_ref = $1", late_ref
            )
            assert basis == "same_person", "linked to the open referral"
            # Casework closes the referral; only then may intake's link reach the log.
            await send(bootstrap, REFERRAL_EVENTS, referral_id, worked_and_closed(referral_id))
            await wait_intake_status(holder, referral_id, "closed")
            await holder.fetchval(RELAY_UNLOCK)
            reopened = await events.wait_for(event_about("ReferralOpened", late_ref))
            on_log = await events.drain()
            types = [r.json()["type"] for r in on_log if r.key == referral_id.encode()]
    finally:
        await holder.close()
    assert types[-2:] == ["ReferralClosed", "ReferralLinked"], "the link landed after closure"
    data = reopened[0].json()["data"]
    assert data["referral_id"] != referral_id
    assert data["previous_referral_id"] == referral_id
    assert data["reason_categories"] == ["debt_bondage"]
