"""Published by the audit service on ``hub.access``, keyed ``"audit"``: signed statements of
the audit ledger's chain head, so outside parties can hold the ledger to what it said."""

from typing import ClassVar

from pydantic import AwareDatetime, Field

from referral_schemas.envelope import EventData
from referral_schemas.topics import ACCESS_EVENTS

CHECKPOINT_KEY = "audit"
"""The Kafka key of every checkpoint (one partition keeps them in order)."""


class AuditCheckpoint(EventData):
    """A signed statement of the audit ledger's overall chain head."""

    EVENT_TYPE: ClassVar[str] = "AuditCheckpoint"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ACCESS_EVENTS

    sequence: int = Field(ge=1, description="Checkpoint number, from 1, without gaps.")
    count: int = Field(ge=0, description="Entries in the ledger when signed (the head's position).")
    head: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="Hash of the entry at position count (hex)."
    )
    signed_at: AwareDatetime = Field(description="When the checkpoint was signed.")
    previous: str | None = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 of the previous checkpoint's signed statement; null for the first.",
    )
    key_id: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the raw Ed25519 public key (hex)."
    )
    signature: str = Field(description="Ed25519 signature of the statement, base64.")

    def kafka_key(self) -> str:
        return CHECKPOINT_KEY
