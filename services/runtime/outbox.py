"""The transactional outbox: messages to publish are rows written in the caller's
transaction, so a state change and the events it causes commit or vanish together."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from referral_schemas import Envelope, serialize_event

from services.runtime.db import Connection
from services.runtime.tracing import traced


@dataclass(frozen=True)
class OutgoingMessage:
    """One Kafka record to be published by the relay."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def event_message(topic: str, key: str, envelope: Envelope[Any]) -> OutgoingMessage:
    """A record carrying one event in CloudEvents structured mode, with the trace context
    of the span it is emitted in (services/runtime/tracing.py)."""
    return OutgoingMessage(
        topic=topic,
        key=key.encode(),
        value=serialize_event(traced(envelope)),
        headers=(("content-type", b"application/cloudevents+json"),),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encode_headers(headers: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    """Names and values both base64: a header from outside may hold bytes (even NUL) that a
    jsonb column cannot store, and a dead letter must keep them unchanged."""
    return [[_b64(name.encode("utf-8", "surrogateescape")), _b64(value)] for name, value in headers]


def decode_headers(stored: list[list[str]]) -> list[tuple[str, bytes]]:
    return [
        (base64.b64decode(name).decode("utf-8", "surrogateescape"), base64.b64decode(value))
        for name, value in stored
    ]


async def enqueue(conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
    """Write the messages and wake the relay when the transaction commits."""
    if not messages:
        return
    await conn.executemany(
        "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4)",
        [(m.topic, m.key, m.value, encode_headers(m.headers)) for m in messages],
    )
    # NOTIFY inside a transaction is delivered only if it commits.
    await conn.execute("SELECT pg_notify('outbox_' || current_schema(), '')")
