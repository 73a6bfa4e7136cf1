"""intake's settings: INTAKE_* environment variables (plus HUB_KAFKA_BOOTSTRAP)."""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.sealing import load_reader_public
from services.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    matching_key: SecretStr = Field(
        description="Secret for the keyed hashes that match people and addresses. Changing it "
        "stops new intelligence from linking to referrals opened before the change."
    )
    isa_version: str = Field(
        default="cumbria-1clic-isa-v1",
        description="Information-sharing agreement version the minimised referral follows.",
    )
    personal_data_reader_key_file: Path | None = Field(
        default=None,
        description="Public X25519 key of the one service allowed to read people (casework): "
        "intake seals each referral's personal details for it. `hub infra up` writes it. "
        "Required to run.",
    )

    retention_ended_referral_days: float = Field(
        default=730,
        gt=0,
        description="Days after a referral ended (closed or cancelled) that its personal "
        "details are erased (docs/privacy.md); `hub infra up` sets it from "
        "HUB_RETENTION_ENDED_REFERRAL_DAYS.",
    )
    retention_interval_s: float = Field(
        default=3600, gt=0, description="Seconds between passes of the retention job."
    )

    def reader_key(self) -> X25519PublicKey:
        """Checked when the service starts: intake never publishes a person unsealed."""
        if self.personal_data_reader_key_file is None:
            raise ValueError(
                "intake needs INTAKE_PERSONAL_DATA_READER_KEY_FILE (hub infra up writes it into "
                "the stack's env file)"
            )
        return load_reader_public(self.personal_data_reader_key_file)
