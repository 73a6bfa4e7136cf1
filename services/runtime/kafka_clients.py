"""Every Kafka client of the hub is made from a ``KafkaAccess``: where the brokers are and who
the client is. Producer settings in one place: idempotent, acks from every in-sync replica.

The brokers authenticate every client (SASL/SCRAM-SHA-512; docs/security.md, "Kafka"), so a
client always carries a principal's name and password. Locally the protocol is
SASL_PLAINTEXT on 127.0.0.1; a deployment whose clients cross a network sets
``HUB_KAFKA_SECURITY_PROTOCOL=SASL_SSL`` (and ``HUB_KAFKA_SSL_CAFILE`` for a private CA).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr

# Large enough for the biggest message a consumer may have to dead-letter unchanged.
MAX_REQUEST_BYTES = 5 * 1024 * 1024

Compression = Literal["none", "gzip"]
"""Codecs the installed aiokafka can use without extra packages."""

SecurityProtocol = Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT"]
"""How a client talks to the brokers. PLAINTEXT (no identity at all) only reaches a broker
that authenticates nobody; the hub's brokers refuse it."""

SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

DEFAULT_MECHANISM: SaslMechanism = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaAccess:
    """A bootstrap list and the principal a client connects as."""

    bootstrap: str
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    security_protocol: SecurityProtocol = "SASL_PLAINTEXT"
    sasl_mechanism: SaslMechanism = DEFAULT_MECHANISM
    ssl_cafile: str | None = None
    """CA bundle that signed the brokers' certificates (SASL_SSL); None: the system's."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], who: str = "HUB") -> "KafkaAccess":
        """From the stack's env file: the shared ``HUB_KAFKA_*`` values and the credentials
        of ``who`` (``<WHO>_KAFKA_USERNAME``/``_PASSWORD``: ``HUB`` is the operator,
        ``INTAKE`` intake, ``HUB_FORCE_CUMBRIA`` Cumbria's sending system)."""
        password = env.get(f"{who}_KAFKA_PASSWORD")
        return cls(
            bootstrap=env["HUB_KAFKA_BOOTSTRAP"],
            username=env.get(f"{who}_KAFKA_USERNAME"),
            password=SecretStr(password) if password is not None else None,
            security_protocol=_choice(
                env.get("HUB_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"), SecurityProtocol
            ),
            sasl_mechanism=_choice(
                env.get("HUB_KAFKA_SASL_MECHANISM", DEFAULT_MECHANISM), SaslMechanism
            ),
            ssl_cafile=env.get("HUB_KAFKA_SSL_CAFILE") or None,
        )

    @property
    def servers(self) -> list[str]:
        return bootstrap_servers(self.bootstrap)

    def _credentials(self) -> tuple[str, str]:
        if self.username is None or self.password is None:
            raise ValueError(
                f"Kafka {self.security_protocol} needs a principal: set <WHO>_KAFKA_USERNAME "
                "and <WHO>_KAFKA_PASSWORD (hub infra up writes them into the stack's env file)"
            )
        return self.username, self.password.get_secret_value()

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol != "PLAINTEXT":
            username, password = self._credentials()
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": username,
                "sasl_plain_password": password,
            }
        if self.security_protocol == "SASL_SSL":
            kwargs["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        return kwargs

    def faststream_security(self) -> BaseSecurity | None:
        """The same identity for FastStream's KafkaBroker."""
        if self.security_protocol == "PLAINTEXT":
            return None
        username, password = self._credentials()
        ssl = (
            create_ssl_context(cafile=self.ssl_cafile)
            if self.security_protocol == "SASL_SSL"
            else None
        )
        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256}
        security = kind.get(self.sasl_mechanism, SASLPlaintext)
        return security(username, password, ssl_context=ssl)


def _choice(value: str, allowed: Any) -> Any:
    """``value`` if it is one of the Literal ``allowed``, else a clear error."""
    if value not in get_args(allowed):
        raise ValueError(f"{value!r} is not one of {', '.join(get_args(allowed))}")
    return value


def bootstrap_servers(bootstrap: str) -> list[str]:
    """``host:port[,host:port]`` as a list: FastStream takes a string for a single server and
    would pass a comma-separated list on as one (unreachable) host."""
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


def make_producer(
    kafka: KafkaAccess, client_id: str, *, linger_ms: int = 5, compression: Compression = "none"
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka.client_kwargs(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        max_request_size=MAX_REQUEST_BYTES,
        linger_ms=linger_ms,
        compression_type=None if compression == "none" else compression,
    )
