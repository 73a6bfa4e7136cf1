"""structlog JSON logging. Context (service, event id, correlation id) is bound through
contextvars, so every line of a message's handling carries it. Libraries' stdlib log lines
(aiokafka, asyncpg) are rendered as JSON too. Payloads are never logged: call sites pass ids,
types and counts only."""

import logging
import sys
from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr, one per event, with the service name on each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "faststream"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger(**bound)


def bind_message(event_id: str | None, correlation_id: str | None) -> None:
    """Bind the message being handled; ``unbind_message`` when done."""
    structlog.contextvars.bind_contextvars(event_id=event_id, correlation_id=correlation_id)


def unbind_message() -> None:
    structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
