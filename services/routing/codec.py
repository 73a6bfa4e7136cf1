"""routing's state of a referral to and from the JSON stored in its row."""

import uuid
from typing import Any

from pydantic import TypeAdapter
from referral_schemas.lifecycle import Lifecycle
from referral_schemas.lifecycle_v1 import (
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
)

from services.routing.domain import Pending, RoutingEvent, RoutingState

_LIFECYCLE = TypeAdapter(Lifecycle)
_EVENTS: dict[str, type[RoutingEvent]] = {
    model.EVENT_TYPE: model for model in (ReferralRouted, ReferralRerouted, ReferralEscalated)
}


def lifecycle_json(state: Lifecycle) -> dict[str, Any]:
    dumped: dict[str, Any] = _LIFECYCLE.dump_python(state, mode="json")
    return dumped


def pending_json(pending: tuple[Pending, ...]) -> list[dict[str, Any]]:
    return [
        {"id": str(p.event_id), "type": p.data.EVENT_TYPE, "data": p.data.model_dump(mode="json")}
        for p in pending
    ]


def state_from(
    correlation_id: uuid.UUID,
    lifecycle: dict[str, Any],
    pending: list[dict[str, Any]],
    reroute_cause: str | None,
) -> RoutingState:
    return RoutingState(
        correlation_id=correlation_id,
        lifecycle=_LIFECYCLE.validate_python(lifecycle),
        pending=tuple(
            Pending(uuid.UUID(p["id"]), _EVENTS[p["type"]].model_validate(p["data"]))
            for p in pending
        ),
        reroute_cause=RerouteCause(reroute_cause) if reroute_cause is not None else None,
    )
