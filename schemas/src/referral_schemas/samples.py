"""Golden sample messages, one per event and version, shipped inside the package.

Released samples never change: a new version gets a new sample. Police systems can use them
to test their producers; our tests check that each one parses and round-trips exactly.
"""

from importlib.resources import files
from typing import Final

SAMPLE_NAMES: Final = (
    "IntelligenceSubmitted.v1",
    "IntelligenceWithdrawn.v1",
    "ReferralOpened.v2",
    "ReferralLinked.v1",
    "ReferralCancelled.v1",
    "ReferralRouted.v1",
    "ReferralRerouted.v1",
    "ReferralEscalated.v1",
    "SlaBreached.v1",
    "ReferralAccepted.v1",
    "ReferralDeclined.v1",
    "ReferralAssigned.v1",
    "ContactAttempted.v1",
    "VisitAttempted.v1",
    "VisitCompleted.v1",
    "EngagementRecorded.v1",
    "ReferralHeld.v1",
    "ReferralResumed.v1",
    "ReferralCompleted.v1",
    "ReferralClosed.v1",
    "ReferralAmended.v2",
    "CancellationRequested.v1",
    "OfferExpired.v1",
    "ReferralDirected.v1",
    "EscalationClosed.v1",
    "OutcomeReported.v1",
    "DirectoryPublished.v1",
    "ReferralConsulted.v1",
    "AuditCheckpoint.v1",
    "ErasureRequested.v1",
    "PersonalDataErased.v1",
)
"""Names accepted by :func:`load_sample`: ``"<EventType>.v<schemaversion>"``."""


def load_sample(name: str) -> bytes:
    """The raw bytes of one sample message, e.g. ``load_sample("IntelligenceSubmitted.v1")``.

    Raises ``KeyError`` for a name not in :data:`SAMPLE_NAMES`.
    """
    if name not in SAMPLE_NAMES:
        raise KeyError(f"no sample named {name!r}; known: {', '.join(SAMPLE_NAMES)}")
    return files("referral_schemas").joinpath(f"samples/{name}.json").read_bytes()


def newest_sample(event_type: str) -> bytes:
    """The sample of the newest version of ``event_type``, e.g. ``ReferralOpened.v2``."""
    names = [n for n in SAMPLE_NAMES if n.rsplit(".v", 1)[0] == event_type]
    if not names:
        raise KeyError(f"no sample of {event_type!r}")
    return load_sample(max(names, key=lambda n: int(n.rsplit(".v", 1)[1])))
