"""`hub erase REFERRAL_ID --reason TEXT [--person]`: erase a person's details
(docs/privacy.md, "Erasure").

The operator asks on the log (ErasureRequested, signed as the operator); intake, which
keeps the referrals' data keys, destroys them and its own copy and answers with one
PersonalDataErased per referral erased. This command waits for those answers and says
what was erased; the auditors see both records under s.62's "erasure".
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import TypeAdapter, ValidationError
from referral_schemas import (
    ErasureRequested,
    ErasureScope,
    PersonalDataErased,
    make_envelope,
    parse_event,
)
from referral_schemas.producers import may_publish
from referral_schemas.text import ShortText
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS
from rich.console import Console

from services.hub.connect import operator_kafka, operator_signer, stack_env, trust_store
from services.hub.directory_commands import operator
from services.hub.raw_intelligence import (
    Truncation,
    intelligence_keys,
    readers,
    take_off_the_log,
)
from services.hub.referrals_commands import read_referrals
from services.hub.topic_reader import partitions_of
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess, make_producer
from services.runtime.outbox import event_message
from services.runtime.provenance import EventSigner, TrustStore

SOURCE = "referral-hub/hub"
REFUSED = 2
console = Console()
err_console = Console(stderr=True)
_REASON: TypeAdapter[str] = TypeAdapter(ShortText)


async def _ends(kafka: KafkaAccess) -> dict[TopicPartition, int]:
    partitions = (await partitions_of(kafka, (REFERRAL_EVENTS,))).get(REFERRAL_EVENTS, [])
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        wanted = [TopicPartition(REFERRAL_EVENTS, p) for p in partitions]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(wanted)
        return ends
    finally:
        await consumer.stop()


async def _ask(kafka: KafkaAccess, signer: EventSigner, request: ErasureRequested) -> uuid.UUID:
    envelope = make_envelope(
        request,
        id=uuid.uuid4(),
        source=SOURCE,
        time=request.requested_at,
        subject=str(request.referral_id),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=f"user:{request.requested_by}",
    )
    message = event_message(REFERRAL_EVENTS, str(request.referral_id), envelope)
    producer = make_producer(kafka, "hub-cli")
    await producer.start()
    try:
        await producer.send_and_wait(
            message.topic,
            message.value,
            key=message.key,
            headers=signer.sign(message.topic, message.key, message.value, message.headers),
        )
    finally:
        await producer.stop()
    return envelope.id


def _answer(
    trust: TrustStore, record: ConsumerRecord[bytes, bytes], request_id: uuid.UUID
) -> PersonalDataErased | None:
    """The record, if it is intake's answer to this request."""
    value, key, headers = record.value or b"", record.key, tuple(record.headers or ())
    try:
        envelope = parse_event(value)
    except Exception:
        return None
    if not isinstance(envelope.data, PersonalDataErased) or envelope.causationid != request_id:
        return None
    verdict = trust.verify(REFERRAL_EVENTS, key, value, headers)
    if verdict.producer is None or not may_publish(
        verdict.producer, REFERRAL_EVENTS, envelope.type, envelope.data
    ):
        return None
    return envelope.data


async def _answers(
    kafka: KafkaAccess,
    trust: TrustStore,
    since: dict[TopicPartition, int],
    request_id: uuid.UUID,
    named: uuid.UUID,
    timeout_s: float,
) -> list[PersonalDataErased]:
    """intake's answers, once the named referral's and those it names have come."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    found: dict[uuid.UUID, PersonalDataErased] = {}
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    answer = _answer(trust, record, request_id)
                    if answer is not None:
                        found[answer.referral_id] = answer
            lead = found.get(named)
            if lead is not None and all(r in found for r in lead.with_referrals):
                return [lead, *(found[r] for r in lead.with_referrals)]
        return list(found.values())
    finally:
        await consumer.stop()


def _refuse(message: str) -> typer.Exit:
    err_console.print(message, markup=False, soft_wrap=True)
    return typer.Exit(REFUSED)


def erase(
    referral_id: Annotated[uuid.UUID, typer.Argument(help="The referral whose person to erase.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why (e.g. the erasure request's reference). Kept for ever in the audit "
            "trail: no personal data.",
        ),
    ],
    person: Annotated[
        bool,
        typer.Option(
            "--person",
            help="Erase the person across every referral intake matched to them.",
        ),
    ] = False,
    even_if_open: Annotated[
        bool,
        typer.Option(
            "--even-if-open",
            help="Erase a referral that has not ended: the agency will no longer see whom to "
            "visit.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds to wait for intake's answer.")
    ] = 60,
) -> None:
    """Erase a person's details: destroy their referral's data keys (every sealed copy, on
    the log and in every service, is unreadable from then on) and intake's copy.

    Police still get their outcome; `hub audit verify` and `replay` still pass.
    """
    try:
        why = _REASON.validate_python(reason)
    except ValidationError as err:
        problem = err.errors()[0]["msg"]
        raise _refuse(f"--reason: {problem} (one line, 1 to 200 characters)") from None
    env = stack_env()
    kafka = operator_kafka(env)
    trust = trust_store(env)
    try:
        summary = asyncio.run(read_referrals(kafka, trust)).get(str(referral_id))
    except KafkaError as error:
        raise _refuse(f"cannot read {REFERRAL_EVENTS}: {type(error).__name__}") from None
    if summary is None:
        raise _refuse(f"no referral {referral_id} on {REFERRAL_EVENTS}; nothing asked.")
    if not summary.lifecycle.ended and not even_if_open:
        raise _refuse(
            f"referral {referral_id} is {summary.lifecycle.status}: it has not ended, and the "
            "agency would no longer see whom to visit. Close or cancel it first, or pass "
            "--even-if-open. Nothing asked."
        )
    by = operator().removeprefix("user:")
    request = ErasureRequested(
        referral_id=referral_id,
        scope=ErasureScope.PERSON if person else ErasureScope.REFERRAL,
        reason=why,
        requested_by=by,
        requested_at=datetime.now(UTC),
    )

    async def run() -> tuple[uuid.UUID, list[PersonalDataErased]]:
        since = await _ends(kafka)
        request_id = await _ask(kafka, operator_signer(env), request)
        return request_id, await _answers(kafka, trust, since, request_id, referral_id, timeout)

    request_id, answers = asyncio.run(run())
    if not any(a.referral_id == referral_id for a in answers):
        err_console.print(
            f"asked (event {request_id}), but intake has not confirmed within {timeout:.0f} s; "
            "see `hub deadletters list`, then `hub referrals show` for the erasure's record."
        )
        raise typer.Exit(1)
    for answer in answers:
        when = f"{answer.erased_at:%Y-%m-%d %H:%M} UTC"
        console.print(
            f"erased: referral {answer.referral_id} "
            f"({answer.keys_destroyed} data key(s) destroyed, {when})"
        )
    erased = [str(a.referral_id) for a in answers]
    try:
        truncation = asyncio.run(_raw_records(kafka, erased, readers(env)))
    except KafkaError as error:
        err_console.print(
            f"{POLICE_INTELLIGENCE}: the force's raw records were not taken off the log "
            f"({type(error).__name__}); its retention removes them."
        )
        raise typer.Exit(1) from None
    _report(truncation)


async def _raw_records(
    kafka: KafkaAccess, referral_ids: list[str], groups: tuple[str, ...]
) -> Truncation:
    return await take_off_the_log(kafka, await intelligence_keys(kafka, referral_ids), groups)


def _report(truncation: Truncation) -> None:
    if truncation.found == 0:
        console.print(f"{POLICE_INTELLIGENCE}: no raw record of them left (retention took it)")
    for partition, start in sorted(truncation.removed.items()):
        console.print(
            f"{POLICE_INTELLIGENCE}: the force's raw records taken off the log (partition "
            f"{partition} now starts at {start}; the bytes leave the disk when its segment closes)"
        )
        if partition in truncation.segment_open_until:
            until = truncation.segment_open_until[partition]
            console.print(
                f"{POLICE_INTELLIGENCE}: partition {partition}'s segment may still be open and "
                f"take records that arrive before it closes: run `hub erase` again after "
                f"{until:%Y-%m-%d %H:%M} UTC to take the erased record's bytes off the disk"
            )
    for partition, group in sorted(truncation.waiting.items()):
        console.print(
            f"{POLICE_INTELLIGENCE}: partition {partition} kept for now: {group} has not read "
            "it all yet; run `hub erase` again later, or its retention removes it"
        )
