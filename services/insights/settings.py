"""insights' settings: INSIGHTS_* environment variables (plus HUB_KAFKA_BOOTSTRAP).

Tokens work as in casework: locally the stack's own key (``hub token`` signs), set as
INSIGHTS_TOKEN_PUBLIC_KEY_FILE in the env file; for a real identity provider set
INSIGHTS_TOKEN_PUBLIC_KEY_FILE (or _PEM), _ISSUER, _AUDIENCE and _ALGORITHMS.

Rebuilding the read model: start an instance with a new INSIGHTS_CONSUMER_GROUP (e.g.
``insights-2``) and an INSIGHTS_DATABASE_URL selecting an empty schema (e.g.
``...?search_path=insights_2``): it replays every topic from offset 0. A schema stays tied to
the group name it was built under (migrations are recorded under that name).
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.api_settings import ApiServiceSettings


class InsightsSettings(ApiServiceSettings):
    """INSIGHTS_DATABASE_URL and a token public key are required; the rest has defaults."""

    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore", frozen=True)

    consumer_group: str = Field(
        default="insights",
        pattern=r"^[a-z][a-z0-9-]{1,60}$",
        description="Kafka consumer group, also the service's name in logs and migrations. "
        "A new name replays every topic from offset 0 (use with an empty schema).",
    )
    http_port: int = Field(default=8083, ge=0, le=65535, description="Port of the figures API.")
