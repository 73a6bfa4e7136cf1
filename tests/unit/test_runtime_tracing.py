"""Trace context through a handler: the events a handler emits carry a traceparent that
continues the trace of the event it handled (or starts one named by that event's id), and
handling the same event twice still yields byte-identical events."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from referral_schemas import Envelope, load_sample, parse_event

from services.runtime.outbox import OutgoingMessage, event_message
from services.runtime.tracing import configure_tracing, handling

pytestmark = pytest.mark.unit

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("test", exporter)
    yield exporter
    configure_tracing("test")


def _event(name: str, **changes: Any) -> Envelope[Any]:
    fields = json.loads(load_sample(name))
    fields["id"] = str(uuid.uuid4())
    fields.update(changes)
    return parse_event(json.dumps(fields).encode())


def _emit(incoming: Envelope[Any], outgoing: Envelope[Any]) -> OutgoingMessage:
    with handling("intake/police.intelligence", incoming):
        return event_message("referral.events", "k", outgoing)


def _traceparent(message: OutgoingMessage) -> list[str]:
    value: str = json.loads(message.value)["traceparent"]
    return value.split("-")


def test_an_emitted_event_continues_the_trace_of_the_event_handled(
    spans: InMemorySpanExporter,
) -> None:
    incoming = _event(
        "IntelligenceSubmitted.v1", traceparent=f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
    )
    version, trace_id, parent_id, flags = _traceparent(_emit(incoming, _event("ReferralOpened.v2")))

    assert (version, trace_id, flags) == ("00", INCOMING_TRACE, "01")
    by_name = {span.name: span for span in spans.get_finished_spans()}
    handled = by_name["IntelligenceSubmitted process"]
    published = by_name["ReferralOpened publish"]
    assert handled.parent is not None
    assert f"{handled.parent.span_id:016x}" == INCOMING_SPAN
    assert published.parent is not None
    assert published.parent.span_id == handled.context.span_id
    assert f"{published.context.span_id:016x}" == parent_id, "the event names its publish span"


def test_an_event_from_outside_without_trace_context_starts_a_trace_named_by_its_id(
    spans: InMemorySpanExporter,
) -> None:
    incoming = _event("IntelligenceSubmitted.v1")
    assert incoming.traceparent is None

    _, trace_id, _, _ = _traceparent(_emit(incoming, _event("ReferralOpened.v2")))

    assert trace_id == incoming.id.hex


def test_handling_the_same_event_twice_emits_byte_identical_events() -> None:
    incoming = _event("IntelligenceSubmitted.v1")
    outgoing = _event("ReferralOpened.v2")

    assert _emit(incoming, outgoing) == _emit(incoming, outgoing)


def test_an_event_emitted_outside_any_handler_carries_no_trace_context() -> None:
    outgoing = _event("ReferralOpened.v2")

    assert b"traceparent" not in event_message("referral.events", "k", outgoing).value
