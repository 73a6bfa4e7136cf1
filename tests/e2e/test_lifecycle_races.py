"""Races between the services that write about one referral, on the real broker with every
service a separate process: hundreds of referrals withdrawn the moment they are submitted,
accepts fired the moment acceptance deadlines expire, declines racing withdrawals.

Afterwards the log is folded with the shared lifecycle and everything people were told must
agree with it: no cancelled referral is actionable in any queue, every 200 an API gave stands
in the final log, police get exactly one outcome per ended referral, and an auditor's replay
from offset 0 matches casework's live state."""

import asyncio
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from referral_schemas import parse_event
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve, reports_to_police
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.topics import POLICE_INTELLIGENCE, POLICE_OUTCOMES, REFERRAL_EVENTS

from services.replay.folds import Scope
from services.replay.run import run_replay
from services.replay.scratch import project_admin_dsn
from tests.e2e.lifecycle_races_support import Racing, racing, settled
from tests.e2e.lifecycle_support import Staff, directory_in_force
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import Record, TopicWatch, send, watch
from tests.support.kafka_auth import access
from tests.support.provenance import trust_of

pytestmark = pytest.mark.e2e

EACH = 80  # referrals per race: 240 in all
REASONS = ("discredited", "submitted_in_error", "subject_moved_away", "duplicate_submission")


async def _withdrawn_at_once(bootstrap: str) -> list[str]:
    """Submit and withdraw straight after; returns the intelligence refs."""
    refs = []
    for i in range(EACH):
        message = submitted()
        refs.append(message["data"]["intelligence_ref"])
        gone = withdrawn(message, reason=REASONS[i % len(REASONS)])
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message), encode(gone)])
    return refs


async def _race_each_as_routed(
    events: TopicWatch,
    racing: Racing,
    bootstrap: str,
    races: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """Start each referral's race the moment routing first offers it (on a loaded machine the
    last of 160 offers can come after the first one's deadline), then wait for every race."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300
    ref_of: dict[str, str] = {}
    tasks: list[asyncio.Task[None]] = []
    arrived = list(events.records)
    while len(tasks) < len(races):
        for record in arrived:
            body = record.json()
            if body["type"] == "ReferralOpened":
                ref_of[body["subject"]] = body["data"]["intelligence_ref"]
                continue
            if body["type"] != "ReferralRouted":
                continue
            ref = ref_of.pop(body["subject"], None)  # the first offer only
            if ref not in races:
                continue
            kind, message = races[ref]
            rid = body["subject"]
            race = (
                _accept_at_deadline(racing, rid, body)
                if kind == "accept"
                else _decline_racing_withdrawal(racing, bootstrap, rid, body, message)
            )
            tasks.append(asyncio.create_task(race))
        if loop.time() > deadline:
            raise AssertionError(f"{len(tasks)} of {len(races)} racing referrals were routed")
        arrived = await events.more(200)
    await asyncio.gather(*tasks)


async def _accept_at_deadline(racing: Racing, rid: str, routed: dict[str, Any]) -> None:
    due = datetime.fromisoformat(routed["data"]["due_by"])
    wait = (due - datetime.now(UTC)).total_seconds() + random.uniform(-0.3, 0.3)
    await asyncio.sleep(max(wait, 0))
    worker = racing.staff(routed["data"]["agency"])
    response = await worker.post(rid, "accept")
    racing.answers.append((rid, "ReferralAccepted", routed["data"]["agency"], response))


async def _decline_racing_withdrawal(
    racing: Racing, bootstrap: str, rid: str, routed: dict[str, Any], message: dict[str, Any]
) -> None:
    worker = racing.staff(routed["data"]["agency"])
    withdrawal = send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))])
    response, _ = await asyncio.gather(
        worker.post(rid, "decline", {"reason": "no_capacity"}), withdrawal
    )
    racing.answers.append((rid, "ReferralDeclined", routed["data"]["agency"], response))


def _fold(records: list[Record]) -> dict[str, tuple[Lifecycle, list[tuple[str, str, str]]]]:
    """Each referral's lifecycle from the log, with the (type, agency, refusal) of each event."""
    states: dict[str, Lifecycle | None] = defaultdict(lambda: None)
    seen: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for record in records:
        envelope = parse_event(record.value)
        rid = envelope.subject
        result = evolve(states[rid], envelope.data)
        agency = str(getattr(envelope.data, "agency", "") or "")
        refused = result.code if isinstance(result, Refusal) else ""
        seen[rid].append((envelope.type, agency, refused))
        if not isinstance(result, Refusal):
            states[rid] = result
    return {rid: (state, seen[rid]) for rid, state in states.items() if state is not None}


async def _casework_status(police: Staff, rid: str) -> str:
    response = await police.detail(rid)
    assert response.status_code == 200, f"police coordinator cannot see {rid}"
    status: str = response.json()["status"]
    return status


async def test_racing_writers_never_contradict_what_people_were_told(
    bootstrap: str, racing: Racing
) -> None:
    await directory_in_force(bootstrap, acceptance="PT8S")
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        withdrawn_refs = await _withdrawn_at_once(bootstrap)
        deadline_race = [submitted() for _ in range(EACH)]
        decline_race = [submitted() for _ in range(EACH)]
        for message in (*deadline_race, *decline_race):
            await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
        races = {m["data"]["intelligence_ref"]: ("accept", m) for m in deadline_race}
        races |= {m["data"]["intelligence_ref"]: ("decline", m) for m in decline_race}
        await _race_each_as_routed(events, racing, bootstrap, races)
        opened = await events.wait_for(
            lambda r: r.json()["type"] == "ReferralOpened", count=3 * EACH, timeout_s=300
        )
        rid_of = {r.json()["data"]["intelligence_ref"]: r.json()["subject"] for r in opened}
        await settled(bootstrap)
        records = [r for r in await events.drain(quiet_s=5.0) if r.key is not None]
        reports = await outcomes.drain(quiet_s=3.0)

    mine = {rid_of[ref] for ref in rid_of}
    folded = {rid: v for rid, v in _fold(records).items() if rid in mine}
    assert len(folded) == 3 * EACH

    # A referral withdrawn at once is cancelled, and stays so in casework's view.
    for ref in withdrawn_refs:
        state, _ = folded[rid_of[ref]]
        assert state.status is ReferralStatus.CANCELLED, (ref, state.status)

    # Every answer an API gave stands in the final log.
    assert racing.answers, "the races were run"
    for rid, event_type, agency, response in racing.answers:
        _, history = folded[rid]
        applied = [(t, a) for t, a, refused in history if not refused]
        if response.status_code == 200:
            assert (event_type, agency) in applied, (rid, event_type, history)
        else:
            assert response.status_code in (404, 409), response.text
            assert (event_type, agency) not in applied, (rid, event_type, history)
    answered = Counter(response.status_code for *_, response in racing.answers)
    assert answered[200] > 0, answered

    # casework says what the log says, for every referral; nothing cancelled is actionable.
    for rid, (state, _) in folded.items():
        assert await _casework_status(racing.police, rid) == state.status.value, rid
        if state.holding_agency is None and state.tried:
            shown = await racing.staff(state.tried[-1]).detail(rid)
            assert shown.status_code == 404 or shown.json()["status"] == state.status.value

    # One outcome for police per referral that reached an agency and ended; none otherwise.
    told = Counter(r.json()["data"]["referral_id"] for r in reports)
    for rid, (state, _) in folded.items():
        assert told[rid] == (1 if reports_to_police(state) else 0), (rid, state.status, told[rid])

    # An auditor's replay from offset 0 reproduces casework's live state.
    env = racing.env
    report = await run_replay(
        access(bootstrap),
        env["AUDIT_DATABASE_URL"],
        env["CASEWORK_DATABASE_URL"],
        Scope(),
        admin_dsn=project_admin_dsn(env["HUB_ADMIN_DATABASE_URL"]),
        trust=trust_of(env),
    )
    assert report.casework.same, report.casework.differences[:5]


__all__ = ["racing"]
