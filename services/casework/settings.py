"""casework's settings: CASEWORK_* environment variables (plus HUB_KAFKA_BOOTSTRAP).

Tokens: see services.runtime.api_settings (CASEWORK_TOKEN_*).
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.api_settings import ApiServiceSettings


class CaseworkSettings(ApiServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore", frozen=True)

    http_port: int = Field(default=8081, ge=0, le=65535, description="Port of the staff API.")
