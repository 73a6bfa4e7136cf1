"""The AuditCheckpoint record the audit service publishes on ``hub.access`` (key "audit").

It is not part of the schemas package (yet): it is defined here, with the same envelope, so
outside parties can read the signed heads from the topic. Consumers that parse hub.access
with ``referral_schemas.parse_event`` see it as an unknown event type.
"""

from typing import ClassVar

from pydantic import AwareDatetime, Field
from referral_schemas import EventData
from referral_schemas.topics import ACCESS_EVENTS

CHECKPOINT_KEY = "audit"


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
