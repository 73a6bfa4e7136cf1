"""casework's settings: CASEWORK_* environment variables (plus HUB_KAFKA_BOOTSTRAP).

Tokens: see services.runtime.api_settings (CASEWORK_TOKEN_*).
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.casework.personal import DetailsOpener
from services.runtime.api_settings import ApiServiceSettings


class CaseworkSettings(ApiServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore", frozen=True)

    http_port: int = Field(default=8081, ge=0, le=65535, description="Port of the staff API.")
    personal_data_key_file: Path | None = Field(
        default=None,
        description="casework's X25519 private key: opens the referrals' data keys to show a "
        "person's details on a consultation. `hub infra up` writes it. Required to run.",
    )

    def details_opener(self) -> DetailsOpener:
        """Checked when the service starts: casework never runs unable to show a person."""
        if self.personal_data_key_file is None:
            raise ValueError(
                "casework needs CASEWORK_PERSONAL_DATA_KEY_FILE (hub infra up writes it into "
                "the stack's env file)"
            )
        return DetailsOpener.from_file(self.personal_data_key_file)
