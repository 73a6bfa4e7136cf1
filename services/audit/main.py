"""Run audit: ``python -m services.audit.main``. All wiring is here, none at import.

The ledger reads raw records with its own consumer (a background task), so it subscribes
to nothing through the runtime's consumer shell; the runtime still gives it migrations, the
outbox relay (checkpoints and consultations are published through it) and shutdown.
"""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from services.audit.api.app import create_app
from services.audit.api.deps import LedgerDeps
from services.audit.checkpoints import checkpoint_task
from services.audit.ledger_consumer import LedgerConsumer
from services.audit.record_reader import KafkaRecords
from services.audit.settings import AuditSettings
from services.audit.signing import load_signing_key
from services.runtime.app import ServiceSpec, run_service
from services.runtime.clock import SystemClock
from services.runtime.consumer import RetryPolicy
from services.runtime.http import http_task


def build(settings: AuditSettings) -> ServiceSpec:
    if settings.checkpoint_key_file is None:
        raise SystemExit("set AUDIT_CHECKPOINT_KEY_FILE to the Ed25519 key that signs checkpoints")
    key = load_signing_key(settings.checkpoint_key_file)
    verifier = settings.token_verifier()
    clock = SystemClock()
    retry = RetryPolicy(
        settings.consumer_max_attempts, settings.retry_base_delay_s, settings.retry_max_delay_s
    )
    kafka = settings.kafka_access()
    _, trust = settings.provenance("audit")
    ledger = LedgerConsumer(
        kafka,
        settings.consumer_group,
        settings.topics,
        trust,
        batch_size=settings.ledger_batch_size,
        retry=retry,
    )

    records = KafkaRecords(kafka)

    def make_app(pool: "asyncpg.Pool[Any]") -> Any:
        ledger = LedgerDeps(key.public, signing_key=key, records=records)
        return create_app(pool, verifier, clock, ledger, settings.api_hardening())

    return ServiceSpec(
        name="audit",
        settings=settings,
        migrations=Path(__file__).with_name("migrations"),
        subscriptions=[],
        clock=clock,
        background=[
            ledger.task(),
            checkpoint_task(key, clock, settings.checkpoint_interval_s),
            http_task(make_app, settings.http_host, settings.http_port),
        ],
        kafka_consumers=[(settings.consumer_group, lambda: ledger.consumer)],
    )


def main() -> None:
    asyncio.run(run_service(build(AuditSettings())))


if __name__ == "__main__":
    main()
