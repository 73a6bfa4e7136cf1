"""Run intake: ``python -m services.intake.main``. All wiring is here, none at import."""

import asyncio
from pathlib import Path

from referral_schemas import ErasureRequested
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.intake.handlers import make_handler, make_lifecycle_handler
from services.intake.retention import retention_loop
from services.intake.settings import IntakeSettings
from services.runtime.app import ServiceSpec, Subscription, run_service
from services.runtime.clock import SystemClock


def build(settings: IntakeSettings) -> ServiceSpec:
    clock = SystemClock()
    reader = settings.reader_key()
    handler = make_handler(
        settings.matching_key.get_secret_value().encode(), settings.isa_version, reader
    )
    return ServiceSpec(
        name="intake",
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[
            Subscription(POLICE_INTELLIGENCE, handler),
            # Every lifecycle event, not only the ones that end a referral: the shared fold
            # accepts a closure only after the routing and acceptance that lead to it.
            Subscription(
                REFERRAL_EVENTS,
                make_lifecycle_handler(settings.isa_version, reader),
                event_types=LIFECYCLE_EVENT_TYPES | {ErasureRequested.EVENT_TYPE},
            ),
        ],
        clock=clock,
        background=[
            retention_loop(
                clock, settings.retention_ended_referral_days, settings.retention_interval_s
            )
        ],
    )


def main() -> None:
    asyncio.run(run_service(build(IntakeSettings())))


if __name__ == "__main__":
    main()
