"""Settings shared by every service. Each service subclasses ``ServiceSettings`` once,
with its own env prefix; only settings classes read the environment."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.db import SessionLimits
from services.runtime.kafka_clients import (
    DEFAULT_MECHANISM,
    Compression,
    KafkaAccess,
    SaslMechanism,
    SecurityProtocol,
)
from services.runtime.provenance import EventSigner, TrustStore
from services.runtime.tracing import Exporter


class ServiceSettings(BaseSettings):
    """What every service process needs: where Kafka and its database are, and tuning."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("HUB_KAFKA_BOOTSTRAP", "KAFKA_BOOTSTRAP"),
        description="Kafka bootstrap servers, host:port[,host:port].",
    )
    kafka_username: str | None = Field(
        default=None,
        description="This service's own Kafka principal (e.g. INTAKE_KAFKA_USERNAME); the "
        "brokers refuse a client without one. `hub infra up` generates it.",
    )
    kafka_password: SecretStr | None = Field(
        default=None, description="Its password (e.g. INTAKE_KAFKA_PASSWORD)."
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="SASL_PLAINTEXT",
        validation_alias=AliasChoices("HUB_KAFKA_SECURITY_PROTOCOL"),
        description="SASL_PLAINTEXT (loopback only) or SASL_SSL (anything that crosses a network).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default=DEFAULT_MECHANISM,
        validation_alias=AliasChoices("HUB_KAFKA_SASL_MECHANISM"),
        description="SASL mechanism of the brokers' client listener.",
    )
    kafka_ssl_cafile: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HUB_KAFKA_SSL_CAFILE"),
        description="CA bundle of the brokers' certificates (SASL_SSL); unset: the system's.",
    )
    database_url: SecretStr = Field(
        description="DSN of this service's own role and schema (e.g. INTAKE_DATABASE_URL).",
    )
    log_level: str = Field(default="INFO", description="Minimum log level.")
    consumer_max_attempts: int = Field(
        default=5, ge=1, description="Attempts at a failing message before it is dead-lettered."
    )
    retry_base_delay_s: float = Field(
        default=0.2, gt=0, description="First retry delay; doubles per attempt."
    )
    retry_max_delay_s: float = Field(default=5.0, gt=0, description="Cap on the retry delay.")
    consumer_batch_max_records: int = Field(
        default=200, ge=1, description="Most records a consumer handles in one transaction."
    )
    consumer_batch_timeout_ms: int = Field(
        default=20,
        ge=1,
        description="How long an idle consumer waits for records before it looks again; "
        "bounds the delay a record can wait on a quiet topic.",
    )
    producer_linger_ms: int = Field(
        default=5, ge=0, le=1000, description="How long the relay's producer gathers a batch."
    )
    producer_compression: Compression = Field(
        default="none", description="Compression of what the relay publishes: none or gzip."
    )
    outbox_batch_size: int = Field(default=500, ge=1, description="Rows the relay sends at once.")
    outbox_poll_interval_s: float = Field(
        default=1.0, gt=0, description="Relay wakes at least this often, even without NOTIFY."
    )
    pool_min_size: int = Field(default=2, ge=1, description="asyncpg pool minimum size.")
    pool_max_size: int = Field(default=10, ge=1, description="asyncpg pool maximum size.")
    outbox_lease_s: float = Field(
        default=5.0,
        gt=0,
        description="How long relay leadership lasts without progress: a leader that "
        "renews nothing for this long (hung, cut off) is replaced by another instance.",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description="PostgreSQL ends a transaction left idle this long (a hung process "
        "loses its locks); 0: never.",
    )
    db_lock_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description="A statement waiting this long on another session's lock fails and is "
        "retried; 0: waits for ever.",
    )
    db_statement_timeout_ms: int = Field(
        default=60_000, ge=0, description="Longest a statement may run; 0: no limit."
    )
    consumer_session_timeout_ms: int = Field(
        default=10_000,
        ge=6_000,
        description="Kafka drops a consumer that sends no heartbeat for this long and gives "
        "its partitions to the others in its group.",
    )

    ops_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of /healthz, /readyz and /metrics (e.g. ROUTING_OPS_PORT); unset: "
        "not served. `hub up` gives each service its own.",
    )
    ops_host: str = Field(default="127.0.0.1", description="Interface the ops port listens on.")
    ops_stuck_outbox_s: float = Field(
        default=60.0,
        gt=0,
        description="/readyz fails while the oldest outbox row has waited longer than this.",
    )

    traces_exporter: Exporter = Field(
        default="none",
        validation_alias=AliasChoices("HUB_TRACES_EXPORTER"),
        description="Where spans go: none (trace context still travels in the events), "
        "console (stdout), or otlp (OTEL_EXPORTER_OTLP_ENDPOINT; needs the otlp extra).",
    )

    event_signing_key_file: Path | None = Field(
        default=None,
        description="This service's Ed25519 key that signs every event it publishes (e.g. "
        "INTAKE_EVENT_SIGNING_KEY_FILE); `hub infra up` generates it. Required to run.",
    )
    trust_store: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("HUB_TRUST_STORE"),
        description="The trust store: which key ids belong to which producer (JSON, written "
        "by `hub infra up` and `hub keys`). Required to run.",
    )

    def provenance(self, producer: str) -> tuple[EventSigner, TrustStore]:
        """The signer of what this service publishes and the store it checks what it reads
        against. Checked when the service starts: a service never runs unsigned."""
        if self.event_signing_key_file is None or self.trust_store is None:
            raise ValueError(
                f"{producer} needs {producer.upper()}_EVENT_SIGNING_KEY_FILE and "
                "HUB_TRUST_STORE (hub infra up writes both into the stack's env file)"
            )
        return EventSigner(producer, self.event_signing_key_file), TrustStore(self.trust_store)

    def kafka_access(self) -> KafkaAccess:
        """How this service's Kafka clients connect. Checked here, when the service starts,
        rather than at load, so tests that never touch Kafka need no credentials."""
        access = KafkaAccess(
            bootstrap=self.kafka_bootstrap,
            username=self.kafka_username,
            password=self.kafka_password,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            ssl_cafile=self.kafka_ssl_cafile,
        )
        if access.security_protocol != "PLAINTEXT" and (
            self.kafka_username is None or self.kafka_password is None
        ):
            prefix = self.model_config.get("env_prefix", "<SERVICE>_")
            raise ValueError(
                f"set {prefix}KAFKA_USERNAME and {prefix}KAFKA_PASSWORD: the brokers refuse a "
                "client without a principal (hub infra up writes them into env.d/<service>)"
            )
        return access

    def session_limits(self) -> SessionLimits:
        """The time limits every connection of the service carries."""
        return SessionLimits(
            idle_in_transaction_ms=self.db_idle_in_transaction_timeout_ms,
            lock_timeout_ms=self.db_lock_timeout_ms,
            statement_timeout_ms=self.db_statement_timeout_ms,
        )
