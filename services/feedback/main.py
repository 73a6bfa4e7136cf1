"""Run feedback: ``python -m services.feedback.main``. All wiring is here, none at import."""

import asyncio
from pathlib import Path

from referral_schemas.topics import REFERRAL_EVENTS

from services.feedback.handlers import make_handler
from services.feedback.settings import FeedbackSettings
from services.runtime.app import ServiceSpec, Subscription, run_service


def build(settings: FeedbackSettings) -> ServiceSpec:
    return ServiceSpec(
        name="feedback",
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[Subscription(REFERRAL_EVENTS, make_handler())],
    )


def main() -> None:
    asyncio.run(run_service(build(FeedbackSettings())))


if __name__ == "__main__":
    main()
