"""Run routing: ``python -m services.routing.main``. All wiring is here, none at import."""

import asyncio
from pathlib import Path

from referral_schemas.topics import DIRECTORY, REFERRAL_EVENTS

from services.routing.handlers import FOLDED_TYPES, make_handlers
from services.routing.settings import RoutingSettings
from services.routing.timers import timer_loop
from services.runtime.app import ServiceSpec, Subscription, run_service
from services.runtime.clock import SystemClock


def build(settings: RoutingSettings) -> ServiceSpec:
    clock = SystemClock()
    on_directory, on_referral_event = make_handlers(settings.isa_version)
    return ServiceSpec(
        name="routing",
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[
            Subscription(DIRECTORY, on_directory),
            Subscription(REFERRAL_EVENTS, on_referral_event, event_types=FOLDED_TYPES),
        ],
        clock=clock,
        background=[timer_loop(clock, settings.timer_poll_interval_s, settings.timer_batch_size)],
    )


def main() -> None:
    asyncio.run(run_service(build(RoutingSettings())))


if __name__ == "__main__":
    main()
