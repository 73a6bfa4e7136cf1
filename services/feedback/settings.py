"""feedback's settings: FEEDBACK_* environment variables (plus HUB_KAFKA_BOOTSTRAP)."""

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    """FEEDBACK_DATABASE_URL is required; the rest has workable defaults."""

    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", extra="ignore", frozen=True)
