"""intake's settings: INTAKE_* environment variables (plus HUB_KAFKA_BOOTSTRAP)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

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
