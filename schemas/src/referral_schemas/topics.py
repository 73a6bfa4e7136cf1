"""Kafka topic names and what each record's key is.

The key decides the partition, so every event about one thing stays in order.
"""

from typing import Final

POLICE_INTELLIGENCE: Final = "police.intelligence"
"""Inbound from police systems: IntelligenceSubmitted, IntelligenceWithdrawn.
Key: ``intelligence_key(force, intelligence_ref)``."""

REFERRAL_EVENTS: Final = "referral.events"
"""Every referral lifecycle event. Key: the referral id (UUID as text)."""

POLICE_OUTCOMES: Final = "police.outcomes"
"""Outbound to police systems: OutcomeReported. Key: the referral id."""

ACCESS_EVENTS: Final = "hub.access"
"""Consultation and disclosure records (DPA 2018 s.62). Key: the referral id."""

DEAD_LETTER: Final = "hub.dead-letter"
"""Messages a consumer could not accept, unchanged, with the reason in headers. Compacted:
one copy per refused record, however many consumers refused it. Read by the hub's operator
only. Key: where the record came from, ``"<topic>/<partition>/<offset>"``."""

DIRECTORY: Final = "hub.directory"
"""DirectoryPublished: every version of the areas-and-agencies directory, in full.
Key: ``"directory"`` (one partition keeps the versions in order)."""

DIRECTORY_KEY: Final = "directory"

ALL_TOPICS: Final = (
    POLICE_INTELLIGENCE,
    REFERRAL_EVENTS,
    POLICE_OUTCOMES,
    ACCESS_EVENTS,
    DEAD_LETTER,
    DIRECTORY,
)


def intelligence_key(force: str, intelligence_ref: str) -> str:
    """The Kafka key of an intelligence message: ``"<force>:<intelligence_ref>"``."""
    return f"{force}:{intelligence_ref}"
