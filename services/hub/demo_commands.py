"""`hub demo`: publish the sample Cumbria intelligence stream to the running hub."""

import asyncio
import json
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from referral_schemas.topics import POLICE_INTELLIGENCE
from rich.console import Console
from rich.table import Table

from services.hub.connect import force_kafka, force_signer, stack_env
from services.hub.demo_data import DemoItem, demo_stream
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.provenance import EventSigner

DEMO_FORCE = "cumbria"

console = Console()


async def _publish(kafka: KafkaAccess, signer: EventSigner, items: list[DemoItem]) -> list[int]:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        offsets = []
        for item in items:
            key, value = item.key.encode(), json.dumps(item.message).encode()
            headers = signer.headers(POLICE_INTELLIGENCE, key, value)
            meta = await producer.send_and_wait(
                POLICE_INTELLIGENCE, value, key=key, headers=headers
            )
            offsets.append(meta.offset)
        return offsets
    finally:
        await producer.stop()


def demo() -> None:
    """Publish realistic sample intelligence (with a duplicate, a link, a withdrawal and an
    invalid message) to police.intelligence, as a force's records system would."""
    items = demo_stream(datetime.now(UTC))
    # Sent as Cumbria's records system would send it: with that force's own principal.
    env = stack_env()
    asyncio.run(_publish(force_kafka(env, DEMO_FORCE), force_signer(env, DEMO_FORCE), items))
    table = Table("sent", "reference", "what it shows")
    for n, item in enumerate(items, 1):
        table.add_row(str(n), item.message["data"]["intelligence_ref"], item.description)
    console.print(table)
    console.print(
        f"Published {len(items)} messages to {POLICE_INTELLIGENCE}. "
        "See each referral's status with `hub referrals list` (a few seconds later), one "
        "referral's timeline with `hub referrals show ID`, and what was refused with "
        "`hub deadletters list`."
    )
