"""Who may publish what: the producer of every event type on every topic.

Every record on the hub's topics is signed by its producer (docs/security.md, "Event
provenance"); a consumer checks the signature, then asks ``may_publish`` whether that
producer may publish that event. A producer is a service (``intake``), the operator
(``operator``: directory versions, consultation records of `hub` reads) or a force's sending
system (``force:cumbria``), which may publish only its own force's intelligence.
"""

from typing import Any, Final

from referral_schemas.lifecycle_rules import OPENING_EVENT, OPENING_PRODUCER, RULES
from referral_schemas.topics import (
    ACCESS_EVENTS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

OPERATOR: Final = "operator"
FORCE_PREFIX: Final = "force:"
SERVICES: Final = ("intake", "routing", "casework", "feedback", "insights", "audit")
"""Every service that signs what it publishes."""
FORCE_EVENTS: Final = frozenset({"IntelligenceSubmitted", "IntelligenceWithdrawn"})

_REFERRAL_PRODUCERS: dict[str, frozenset[str]] = {
    OPENING_EVENT: frozenset({OPENING_PRODUCER.value}),
    **{event_type: frozenset({rule.producer.value}) for event_type, rule in RULES.items()},
    "ErasureRequested": frozenset({OPERATOR}),
    "PersonalDataErased": frozenset({"intake"}),
}

PRODUCERS: Final[dict[str, dict[str, frozenset[str]]]] = {
    REFERRAL_EVENTS: _REFERRAL_PRODUCERS,
    POLICE_OUTCOMES: {"OutcomeReported": frozenset({"feedback"})},
    DIRECTORY: {"DirectoryPublished": frozenset({OPERATOR})},
    ACCESS_EVENTS: {
        "ReferralConsulted": frozenset({"casework", "audit", OPERATOR}),
        "AuditCheckpoint": frozenset({"audit"}),
    },
}
"""topic -> event type -> the producers that may publish it there. police.intelligence is
the forces' (``FORCE_EVENTS``, each force its own); hub.dead-letter any service's."""


def force_producer(force: str) -> str:
    """The producer name of a force's sending system: ``force:cumbria``."""
    return f"{FORCE_PREFIX}{force}"


def is_producer_name(name: str) -> bool:
    """A name the trust store may hold: a service, the operator or ``force:<code>``."""
    if name in SERVICES or name == OPERATOR:
        return True
    force = name.removeprefix(FORCE_PREFIX)
    return (
        name.startswith(FORCE_PREFIX)
        and 0 < len(force) <= 40
        and all(c.islower() or c.isdigit() or c == "-" for c in force)
        and force.isascii()
    )


def may_publish(producer: str, topic: str, event_type: str, data: Any = None) -> bool:
    """Whether ``producer`` may publish an event of ``event_type`` (payload ``data``) on
    ``topic``. A dead letter is a refused record forwarded unchanged: any service may."""
    if topic == DEAD_LETTER:
        return producer in SERVICES
    if topic == POLICE_INTELLIGENCE:
        force = getattr(data, "force", None)
        return (
            event_type in FORCE_EVENTS
            and force is not None
            and producer == force_producer(str(force))
        )
    return producer in PRODUCERS.get(topic, {}).get(event_type, frozenset())


__all__ = [
    "FORCE_EVENTS",
    "FORCE_PREFIX",
    "OPERATOR",
    "PRODUCERS",
    "SERVICES",
    "force_producer",
    "is_producer_name",
    "may_publish",
]
