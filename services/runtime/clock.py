"""Time and identifiers are handed to pure domain code, never taken by it."""

import uuid
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class IdFactory(Protocol):
    def new(self, label: str) -> uuid.UUID: ...


_NAMESPACE = uuid.UUID("6f1c1d3a-5a0e-4c55-9d5e-3d7f2b7e9a10")


class CausalIds:
    """Ids derived from what caused them: the same input always yields the same ids.

    Reprocessing a message (after a crash before commit, or in an audit replay) therefore
    produces byte-identical events instead of new ones.
    """

    def __init__(self, consumer: str, cause: uuid.UUID) -> None:
        self._prefix = f"{consumer}/{cause}"

    def new(self, label: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"{self._prefix}/{label}")


def id_for_record(topic: str, partition: int, offset: int) -> uuid.UUID:
    """A stable id for a Kafka record that has no readable event id of its own."""
    return uuid.uuid5(_NAMESPACE, f"record/{topic}/{partition}/{offset}")
