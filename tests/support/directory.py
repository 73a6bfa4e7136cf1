"""The areas-and-agencies directory for tests: the Cumbria demo directory (as in
infra/directory/cumbria.yaml) with adjustable deadlines and capacity, publishing it
on the real broker, and addresses inside its postcode districts.

Directory versions are global to the shared broker: a test publishes a version above every
version already on the topic (:func:`next_directory_version`) and restores nothing.
"""

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from referral_schemas import make_envelope, serialize_event
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import DIRECTORY, DIRECTORY_KEY

from tests.support.kafka import Sent, send
from tests.support.kafka_auth import client_kwargs

_rng = random.SystemRandom()
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

BARROW_AGENCIES = frozenset({"twc-barrow", "cumbria-recovery-south"})

_AREAS: list[dict[str, Any]] = [
    {"code": "barrow", "name": "Barrow-in-Furness", "postcode_districts": ["LA13", "LA14"]},
    {"code": "kendal", "name": "Kendal", "postcode_districts": ["LA8", "LA9"]},
    {"code": "carlisle", "name": "Carlisle", "postcode_districts": ["CA1", "CA2", "CA3"]},
]
_AGENCIES: list[dict[str, Any]] = [
    {
        "code": "twc-barrow",
        "name": "The Well Communities — Barrow team",
        "areas": ["barrow"],
        "services": ["vulnerability_visit", "substance_recovery"],
        "capacity": 40,
    },
    {
        "code": "cumbria-recovery-south",
        "name": "South Cumbria Recovery Service",
        "areas": ["barrow", "kendal"],
        "services": ["vulnerability_visit", "substance_recovery", "housing_support"],
        "capacity": 30,
    },
    {
        "code": "twc-carlisle",
        "name": "The Well Communities — Carlisle team",
        "areas": ["carlisle"],
        "services": ["vulnerability_visit", "substance_recovery"],
        "capacity": 25,
    },
]


def cumbria_directory(
    version: int, acceptance: str = "PT48H", *, capacity: int | None = None, **overrides: Any
) -> dict[str, Any]:
    """DirectoryPublished data: Barrow, Kendal and Carlisle with three agencies.

    ``acceptance`` is every agency's acceptance deadline; ``capacity``, if given, replaces
    every agency's capacity (tests share agencies, so their referrals pile up across runs);
    ``overrides`` replace top-level fields, e.g. ``agencies=[...]``.
    """
    agencies = [
        {
            **agency,
            "capacity": agency["capacity"] if capacity is None else capacity,
            "acceptance_deadline": acceptance,
            "active": True,
        }
        for agency in _AGENCIES
    ]
    data: dict[str, Any] = {
        "version": version,
        "published_at": datetime.now(UTC).isoformat(),
        "published_by": "user:directory-admin",
        "areas": [{**area, "force": "cumbria"} for area in _AREAS],
        "agencies": agencies,
    }
    data.update(overrides)
    return data


def directory_envelope(data: dict[str, Any] | DirectoryPublished) -> bytes:
    """A DirectoryPublished as the directory admin publishes it on hub.directory."""
    directory = DirectoryPublished.model_validate(data)
    envelope = make_envelope(
        directory,
        id=uuid.uuid4(),
        source="referral-hub/directory-admin",
        time=directory.published_at,
        subject=DIRECTORY_KEY,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=directory.published_by,
    )
    return serialize_event(envelope)


async def send_directory(bootstrap: str, data: dict[str, Any]) -> Sent:
    """Publish a DirectoryPublished event; returns where it landed (to wait for consumers)."""
    sent = await send(bootstrap, DIRECTORY, DIRECTORY_KEY, [directory_envelope(data)])
    return sent[0]


async def publish_directory(bootstrap: str, data: dict[str, Any]) -> None:
    await send_directory(bootstrap, data)


def _version_of(value: bytes | None) -> int:
    try:
        version = json.loads(value or b"")["data"]["version"]
    except (ValueError, KeyError, TypeError):
        return 0  # not a readable directory: it never was in force
    return version if isinstance(version, int) else 0


async def next_directory_version(bootstrap: str) -> int:
    """One more than the highest version on ``hub.directory``."""
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(DIRECTORY, 0)
        consumer.assign([tp])
        start = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, start)
        highest = 0
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=1000)
            for record in batches.get(tp, []):
                highest = max(highest, _version_of(record.value))
        return highest + 1
    finally:
        await consumer.stop()


def address_in(district: str, town: str) -> dict[str, Any]:
    """A unique address in a postcode district, e.g. ``address_in("LA14", "Barrow")``."""
    inward = f"{_rng.randint(1, 9)}{_rng.choice(_UNIT_LETTERS)}{_rng.choice(_UNIT_LETTERS)}"
    return {
        "line1": f"{_rng.randint(1, 999)} Test{uuid.uuid4().hex[:10]} Road",
        "line2": None,
        "town": town,
        "postcode": f"{district} {inward}",
    }
