"""The consumer shell on real PostgreSQL with real events: handled once, effects and outgoing
messages committed together, refusals dead-lettered once, failures retried then parked."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from referral_schemas import DEAD_LETTER, REFERRAL_EVENTS

from services.runtime.clock import SystemClock
from services.runtime.consumer import MessageProcessor, Outcome, RetryPolicy
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.errors import Rejection
from services.runtime.outbox import OutgoingMessage
from tests.integration.runtime_fixtures import (
    ConsumerEnv,
    ScriptedHandler,
    consumer_env,
    outbox_rows,
    record,
    sample_with_fresh_id,
)
from tests.support.provenance import signer, trust_of

pytestmark = pytest.mark.integration

CONSUMER = "svc/police.intelligence"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.001)
OPENED = OutgoingMessage(
    REFERRAL_EVENTS, b"referral-1", b'{"opened": 1}', (("content-type", b"application/json"),)
)
LINKED = OutgoingMessage(REFERRAL_EVENTS, b"referral-1", b'{"linked": 1}', ())


Env = ConsumerEnv


@pytest.fixture
async def env(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Env]:
    async with consumer_env(stack_env, tmp_path) as made:
        yield made


def processor(env: Env, handler: ScriptedHandler, retry: RetryPolicy = FAST) -> MessageProcessor:
    return MessageProcessor(env.pool, CONSUMER, handler, SystemClock(), retry, trust=None)


async def effects(env: Env) -> list[tuple[uuid.UUID, int]]:
    rows = await env.schema.fetch("SELECT event_id, attempt FROM effects")
    return [(r["event_id"], r["attempt"]) for r in rows]


async def dead_letters(env: Env) -> list[dict[str, Any]]:
    return [dict(r) for r in await env.schema.fetch("SELECT * FROM dead_letters ORDER BY id")]


async def test_a_handled_event_leaves_its_messages_in_the_outbox(env: Env) -> None:
    event_id, value = sample_with_fresh_id()
    handler = ScriptedHandler(returns=[OPENED, LINKED])

    assert await processor(env, handler).process(record(value)) is Outcome.HANDLED

    rows = await outbox_rows(env.schema)
    assert [(r["topic"], r["key"], r["value"]) for r in rows] == [
        (m.topic, m.key, m.value) for m in (OPENED, LINKED)
    ]
    assert [r["headers"] for r in rows] == [{"content-type": b"application/json"}, {}]
    assert await effects(env) == [(event_id, 1)]
    assert await dead_letters(env) == []


async def test_an_event_delivered_twice_is_handled_once(env: Env) -> None:
    event_id, value = sample_with_fresh_id("IntelligenceWithdrawn.v1")
    handler = ScriptedHandler(returns=[OPENED])
    consume = processor(env, handler)
    first = record(value)
    # The same record after a rebalance, and a copy the relay re-published at a new offset.
    redelivered, republished = first, record(value)

    outcomes = [await consume.process(r) for r in (first, redelivered, republished)]

    assert outcomes == [Outcome.HANDLED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert handler.calls == 1
    assert len(await outbox_rows(env.schema)) == 1
    assert await effects(env) == [(event_id, 1)]


def dead_letter_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["topic"] == DEAD_LETTER]


async def test_a_rejected_event_is_dead_lettered_once_and_its_effects_undone(env: Env) -> None:
    event_id, value = sample_with_fresh_id()
    handler = ScriptedHandler(
        failures=[Rejection("unknown_intelligence", "no such ref")], returns=[OPENED]
    )
    consume = processor(env, handler)
    refused = record(value)

    assert await consume.process(refused) is Outcome.DEAD_LETTERED
    assert await consume.process(refused) is Outcome.DUPLICATE

    assert handler.calls == 1
    assert await effects(env) == []
    [parked] = await dead_letters(env)
    assert (parked["consumer"], parked["reason"], parked["detail"]) == (
        CONSUMER,
        "unknown_intelligence",
        "no such ref",
    )
    assert (parked["source_topic"], parked["source_offset"]) == (refused.topic, refused.offset)
    assert parked["event_id"] == event_id
    [forwarded] = await outbox_rows(env.schema)
    assert forwarded["topic"] == DEAD_LETTER
    # Keyed by where it came from: every consumer's copy of it has this key (compaction).
    origin = f"{refused.topic}/{refused.partition}/{refused.offset}".encode()
    assert (forwarded["key"], forwarded["value"]) == (origin, refused.value)
    assert forwarded["headers"]["dlq.reason"] == b"unknown_intelligence"
    assert forwarded["headers"]["dlq.source.offset"] == str(refused.offset).encode()
    assert forwarded["headers"]["content-type"] == b"application/cloudevents+json"


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_max_attempts(
    env: Env,
) -> None:
    _, value = sample_with_fresh_id()
    handler = ScriptedHandler(failures=[RuntimeError("bug")] * 10, returns=[OPENED])

    assert await processor(env, handler).process(record(value)) is Outcome.DEAD_LETTERED

    assert handler.calls == FAST.max_attempts
    assert await effects(env) == []
    [parked] = await dead_letters(env)
    assert parked["reason"] == "processing_failed"
    assert parked["detail"] == f"RuntimeError after {FAST.max_attempts} attempts"
    forwarded = dead_letter_rows(await outbox_rows(env.schema))
    assert [r["headers"]["dlq.reason"] for r in forwarded] == [b"processing_failed"]
    assert [r["value"] for r in forwarded] == [value]


async def test_a_transient_failure_is_retried_until_the_event_is_handled(env: Env) -> None:
    event_id, value = sample_with_fresh_id()
    handler = ScriptedHandler(
        failures=[ConnectionResetError(), ConnectionResetError()], returns=[OPENED]
    )

    assert await processor(env, handler).process(record(value)) is Outcome.HANDLED

    assert handler.calls == 3
    assert await effects(env) == [(event_id, 3)]
    assert await dead_letters(env) == []
    assert [r["value"] for r in await outbox_rows(env.schema)] == [OPENED.value]


async def test_an_outage_longer_than_max_attempts_does_not_dead_letter_a_good_event(
    env: Env,
) -> None:
    event_id, value = sample_with_fresh_id()
    outage = [ConnectionResetError(), TimeoutError(), OSError()] * 2
    handler = ScriptedHandler(failures=outage, returns=[OPENED])

    assert await processor(env, handler).process(record(value)) is Outcome.HANDLED

    assert handler.calls == len(outage) + 1
    assert await effects(env) == [(event_id, len(outage) + 1)]
    assert await dead_letters(env) == []


async def test_unparseable_bytes_are_dead_lettered_once_by_record(env: Env) -> None:
    handler = ScriptedHandler(returns=[OPENED])
    consume = processor(env, handler)
    garbage = record(b'{"id": "not closed"')

    assert await consume.process(garbage) is Outcome.DEAD_LETTERED
    assert await consume.process(garbage) is Outcome.DUPLICATE

    assert handler.calls == 0
    [parked] = await dead_letters(env)
    assert (parked["reason"], parked["event_id"]) == ("not_json", None)
    [forwarded] = await outbox_rows(env.schema)
    assert forwarded["value"] == garbage.value
    assert forwarded["headers"]["dlq.reason"] == b"not_json"


# Regressions of bugs found and fixed in the runtime.


async def test_a_dead_lettered_event_redelivered_is_not_handled_again(env: Env) -> None:
    event_id, value = sample_with_fresh_id()
    # Fails max_attempts times, then would succeed: e.g. a flaky dependency.
    handler = ScriptedHandler(failures=[RuntimeError("bug")] * FAST.max_attempts, returns=[OPENED])
    consume = processor(env, handler)
    poison = record(value)
    assert await consume.process(poison) is Outcome.DEAD_LETTERED

    # The consumer stopped before committing the offset: Kafka delivers the record again.
    again = await consume.process(poison)

    assert (again, handler.calls) == (Outcome.DUPLICATE, FAST.max_attempts)
    assert await effects(env) == [], "a dead-lettered event must not also be applied"
    assert [d["event_id"] for d in await dead_letters(env)] == [event_id]


async def test_an_outage_does_not_use_up_the_attempts_of_a_later_error(env: Env) -> None:
    _, value = sample_with_fresh_id()
    failures: list[BaseException] = [OSError()] * FAST.max_attempts + [RuntimeError("once")]
    handler = ScriptedHandler(failures=failures, returns=[OPENED])

    outcome = await processor(env, handler).process(record(value))

    assert outcome is Outcome.HANDLED
    assert await dead_letters(env) == []


async def test_a_record_with_a_nul_in_a_header_name_is_still_dead_lettered(env: Env) -> None:
    handler = ScriptedHandler()
    odd = dataclasses.replace(record(b"garbage"), headers=(("trace\x00id", b"1"),))

    assert await processor(env, handler).process(odd) is Outcome.DEAD_LETTERED
    assert [d["reason"] for d in await dead_letters(env)] == ["not_json"]


def signed_record(env: dict[str, str], value: bytes, producer: str) -> ReceivedRecord:
    """``record(value)`` signed with ``producer``'s key from the stack."""
    plain = record(value)
    headers = signer(env, producer).sign(plain.topic, plain.key, plain.value, plain.headers)
    return dataclasses.replace(plain, headers=tuple(headers))


def verifying(env: Env, handler: ScriptedHandler, stack_env: dict[str, str]) -> MessageProcessor:
    return MessageProcessor(
        env.pool, CONSUMER, handler, SystemClock(), FAST, trust=trust_of(stack_env)
    )


async def test_only_records_their_rightful_producer_signed_reach_the_handler(
    env: Env, stack_env: dict[str, str]
) -> None:
    handler = ScriptedHandler(returns=[OPENED])
    consume = verifying(env, handler, stack_env)
    _, unsigned = sample_with_fresh_id()
    _, by_intake = sample_with_fresh_id()  # a service may not send a force's intelligence
    _, tampered = sample_with_fresh_id()
    changed = signed_record(stack_env, tampered, "force:cumbria")
    changed = dataclasses.replace(changed, value=changed.value.replace(b"cumbria", b"cumbriA"))
    event_id, genuine = sample_with_fresh_id()

    outcomes = [
        await consume.process(record(unsigned)),
        await consume.process(signed_record(stack_env, by_intake, "intake")),
        await consume.process(changed),
        await consume.process(signed_record(stack_env, genuine, "force:cumbria")),
    ]

    assert outcomes == [Outcome.DEAD_LETTERED] * 3 + [Outcome.HANDLED]
    assert handler.calls == 1, "only the genuine record reached the handler"
    assert await effects(env) == [(event_id, 1)]
    reasons = [r["reason"] for r in await dead_letters(env)]
    assert reasons == ["bad_signature", "untrusted_producer", "bad_signature"]
    forwarded = dead_letter_rows(await outbox_rows(env.schema))
    assert [h.get("dlq.reason") for h in (r["headers"] for r in forwarded)] == [
        b"bad_signature",
        b"untrusted_producer",
        b"bad_signature",
    ]
    # What the forger's record claimed is kept for investigation, apart from the new signature.
    assert "dlq.original.hub.sig" in forwarded[1]["headers"]
    assert "hub.sig" not in forwarded[1]["headers"], "the relay signs the dead letter itself"
