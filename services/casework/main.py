"""Run casework: ``python -m services.casework.main``. All wiring is here, none at import."""

import asyncio
from pathlib import Path

from referral_schemas.topics import DIRECTORY, REFERRAL_EVENTS

from services.casework.api.app import create_app
from services.casework.domain import FOLDED_TYPES
from services.casework.handlers import handle, on_directory
from services.casework.settings import CaseworkSettings
from services.runtime.app import ServiceSpec, Subscription, run_service
from services.runtime.clock import SystemClock
from services.runtime.http import http_task


def build(settings: CaseworkSettings) -> ServiceSpec:
    verifier = settings.token_verifier()
    clock = SystemClock()
    hardening = settings.api_hardening()
    opener = settings.details_opener()
    return ServiceSpec(
        name="casework",
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[
            Subscription(REFERRAL_EVENTS, handle, event_types=FOLDED_TYPES),
            Subscription(DIRECTORY, on_directory, event_types=frozenset({"DirectoryPublished"})),
        ],
        clock=clock,
        background=[
            http_task(
                lambda pool: create_app(pool, verifier, clock, opener, hardening),
                settings.http_host,
                settings.http_port,
            )
        ],
    )


def main() -> None:
    asyncio.run(run_service(build(CaseworkSettings())))


if __name__ == "__main__":
    main()
