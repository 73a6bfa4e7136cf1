"""Run insights: ``python -m services.insights.main``. All wiring is here, none at import."""

import asyncio
from pathlib import Path

from referral_schemas.topics import DIRECTORY, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.insights.api.app import create_app
from services.insights.handlers import on_directory, on_intelligence, on_referral_event
from services.insights.settings import InsightsSettings
from services.runtime.app import ServiceSpec, Subscription, run_service
from services.runtime.clock import SystemClock
from services.runtime.http import http_task


def build(settings: InsightsSettings) -> ServiceSpec:
    verifier = settings.token_verifier()
    clock = SystemClock()
    hardening = settings.api_hardening()
    return ServiceSpec(
        # The runtime uses the name as the consumer group: a new name replays from offset 0.
        name=settings.consumer_group,
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[
            Subscription(DIRECTORY, on_directory),
            Subscription(POLICE_INTELLIGENCE, on_intelligence),
            Subscription(REFERRAL_EVENTS, on_referral_event),
        ],
        clock=clock,
        background=[
            http_task(
                lambda pool: create_app(pool, verifier, clock, hardening),
                settings.http_host,
                settings.http_port,
            )
        ],
    )


def main() -> None:
    asyncio.run(run_service(build(InsightsSettings())))


if __name__ == "__main__":
    main()
