"""audit's settings: AUDIT_* environment variables (plus HUB_KAFKA_BOOTSTRAP).

AUDIT_CHECKPOINT_KEY_FILE is the Ed25519 private key (PEM) that signs checkpoints; it lives
outside the database (``<state_dir>/secrets/audit-checkpoint-key.pem`` locally). Tokens for
the auditors' API are checked like casework's (AUDIT_TOKEN_PUBLIC_KEY_FILE, _ISSUER, ...).
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.audit.ledgered import LEDGERED_TOPICS
from services.runtime.api_settings import ApiServiceSettings


class AuditSettings(ApiServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", frozen=True)

    topics: list[str] = Field(
        default=list(LEDGERED_TOPICS),
        description="Topics ledgered: every topic of the hub but hub.dead-letter.",
    )
    consumer_group: str = Field(default="audit", description="Kafka consumer group.")
    ledger_batch_size: int = Field(default=500, ge=1, description="Records appended at once.")
    checkpoint_key_file: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) that signs checkpoints."
    )
    checkpoint_interval_s: float = Field(
        default=60.0, gt=0, description="How often the chain head is signed (if it moved)."
    )
    http_port: int = Field(default=8084, ge=0, le=65535, description="Port of the API.")
