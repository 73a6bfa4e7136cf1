"""Kafka producer settings in one place: idempotent, acks from every in-sync replica."""

from typing import Literal

from aiokafka import AIOKafkaProducer

# Large enough for the biggest message a consumer may have to dead-letter unchanged.
MAX_REQUEST_BYTES = 5 * 1024 * 1024

Compression = Literal["none", "gzip"]
"""Codecs the installed aiokafka can use without extra packages."""


def bootstrap_servers(bootstrap: str) -> list[str]:
    """``host:port[,host:port]`` as a list: FastStream takes a string for a single server and
    would pass a comma-separated list on as one (unreachable) host."""
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


def make_producer(
    bootstrap: str, client_id: str, *, linger_ms: int = 5, compression: Compression = "none"
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        max_request_size=MAX_REQUEST_BYTES,
        linger_ms=linger_ms,
        compression_type=None if compression == "none" else compression,
    )
