"""routing's settings: ROUTING_* environment variables (plus HUB_KAFKA_BOOTSTRAP)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore", frozen=True)

    timer_poll_interval_s: float = Field(
        default=0.5, gt=0, description="How often the timer loop looks for due deadlines."
    )
    timer_batch_size: int = Field(
        default=200, ge=1, description="Due deadlines fired in one transaction at most."
    )
    isa_version: str = Field(
        default="cumbria-1clic-isa-v1",
        description="Information-sharing agreement under which a routed referral is "
        "disclosed to the agency; recorded on ReferralRouted and ReferralRerouted.",
    )
