"""Traces across services: the W3C trace context travels in each event's envelope
(``traceparent``, ``tracestate``), so one referral's path through every service is one trace.

Handling an event opens a span that continues the trace of the event (a child of the span
its ``traceparent`` names); every event emitted meanwhile gets a "publish" span, a child of
that one, and carries it as its own ``traceparent``. Event ids are deterministic (handling
the same input twice yields byte-identical events), so the trace context of an emitted
event is too: the trace id is the incoming event's (or, for an event from outside that
carries none, its event id, a 128-bit UUID), the span id comes from the emitted event's id,
and the flags are the parent's. Spans go to an exporter only when ``HUB_TRACES_EXPORTER``
names one (console, or otlp with the ``otlp`` extra installed); otherwise they are made
and dropped, which costs microseconds.
"""

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from referral_schemas import Envelope

Exporter = Literal["none", "console", "otlp"]

_NEXT_TRACE_ID: ContextVar[int | None] = ContextVar("hub_next_trace_id", default=None)
_NEXT_SPAN_ID: ContextVar[int | None] = ContextVar("hub_next_span_id", default=None)
_PROPAGATOR = TraceContextTextMapPropagator()


class _DerivedIds(RandomIdGenerator):
    """Ids from the event being handled or emitted where one is set, random otherwise."""

    def generate_trace_id(self) -> int:
        fixed = _NEXT_TRACE_ID.get()
        return fixed if fixed is not None else super().generate_trace_id()

    def generate_span_id(self) -> int:
        fixed = _NEXT_SPAN_ID.get()
        return fixed if fixed is not None else super().generate_span_id()


class _Tracing:
    provider: TracerProvider | None = None


def configure_tracing(service: str, exporter: Exporter | SpanExporter = "none") -> None:
    """Make this process's spans (named for ``service``) and send them where told: an
    exporter named by the setting gets them in batches, one given as an object (a test's
    in-memory exporter) each as it ends."""
    provider = TracerProvider(
        id_generator=_DerivedIds(), resource=Resource.create({"service.name": service})
    )
    if isinstance(exporter, SpanExporter):
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif exporter != "none":
        provider.add_span_processor(BatchSpanProcessor(_exporter(exporter)))
    _Tracing.provider = provider


def _exporter(name: Exporter) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError as missing:
        raise SystemExit(
            "HUB_TRACES_EXPORTER=otlp needs the otlp extra: pip install 'referral-hub[otlp]'"
        ) from missing
    exporter: SpanExporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT says where
    return exporter


def shutdown_tracing() -> None:
    """Flush spans still waiting for the exporter."""
    if _Tracing.provider is not None:
        _Tracing.provider.shutdown()


def _tracer() -> trace.Tracer:
    if _Tracing.provider is None:
        configure_tracing("referral-hub")
    assert _Tracing.provider is not None
    return _Tracing.provider.get_tracer("referral-hub")


def _span_id_of(event_id: uuid.UUID) -> int:
    """A span id (64 bits, never 0) that only this event id gives."""
    digest = hashlib.sha256(b"span/" + event_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") or 1


@contextlib.contextmanager
def _ids(trace_id: int | None, span_id: int | None) -> Iterator[None]:
    trace_token = _NEXT_TRACE_ID.set(trace_id)
    span_token = _NEXT_SPAN_ID.set(span_id)
    try:
        yield
    finally:
        _NEXT_SPAN_ID.reset(span_token)
        _NEXT_TRACE_ID.reset(trace_token)


def context_of(traceparent: str | None, tracestate: str | None) -> otel_context.Context | None:
    """The trace context a stored or received traceparent names; None if there is none."""
    if traceparent is None:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    found = _PROPAGATOR.extract(carrier, context=otel_context.Context())
    return found if trace.get_current_span(found).get_span_context().is_valid else None


@contextlib.contextmanager
def continuing(
    name: str,
    parent: otel_context.Context | None,
    root_id: uuid.UUID,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, Any] | None = None,
) -> Iterator[None]:
    """A span named ``name``, current inside the block: a child of ``parent`` or, without
    one, the root of a trace whose id is ``root_id``."""
    with _ids(root_id.int or 1, None):
        span = _tracer().start_span(
            name, context=parent or otel_context.Context(), kind=kind, attributes=attributes
        )
    with trace.use_span(span, end_on_exit=True):
        yield


@contextlib.contextmanager
def handling(consumer: str, envelope: Envelope[Any]) -> Iterator[None]:
    """The span of one consumer handling one event, continuing the event's trace."""
    attributes = {
        "messaging.system": "kafka",
        "messaging.consumer.group.name": consumer.split("/", 1)[0],
        "messaging.message.id": str(envelope.id),
        "cloudevents.event_type": envelope.type,
    }
    parent = context_of(envelope.traceparent, envelope.tracestate)
    with continuing(f"{envelope.type} process", parent, envelope.id, SpanKind.CONSUMER, attributes):
        yield


def traced(envelope: Envelope[Any]) -> Envelope[Any]:
    """``envelope`` carrying the trace context of a publish span for it, a child of the
    current span; unchanged if it has one already or no span is current."""
    if envelope.traceparent is not None:
        return envelope
    if not trace.get_current_span().get_span_context().is_valid:
        return envelope
    attributes = {"messaging.message.id": str(envelope.id), "cloudevents.event_type": envelope.type}
    with _ids(None, _span_id_of(envelope.id)):
        span = _tracer().start_span(
            f"{envelope.type} publish", kind=SpanKind.PRODUCER, attributes=attributes
        )
    span.end()
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return envelope.model_copy(
        update={"traceparent": carrier["traceparent"], "tracestate": carrier.get("tracestate")}
    )
