"""The DPA 2018 s.62 category of each event type, and who a disclosure went to. Pure.

s.62 asks for logs of collection, alteration, consultation, disclosure (with recipients),
combination and erasure. Events that are none of these (the directory, audit checkpoints,
dead letters) are ledgered without a category.
"""

from enum import StrEnum
from typing import Any

from referral_schemas import OutcomeReported, ReferralConsulted, ReferralRerouted, ReferralRouted


class Category(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"
    """A person's details erased: their referral's data keys destroyed (PersonalDataErased),
    and the request for it (ErasureRequested)."""


_BY_TYPE: dict[str, Category] = {
    "IntelligenceSubmitted": Category.COLLECTION,
    "IntelligenceWithdrawn": Category.ALTERATION,
    "ReferralLinked": Category.COMBINATION,
    "ReferralConsulted": Category.CONSULTATION,
    "ReferralRouted": Category.DISCLOSURE,
    "ReferralRerouted": Category.DISCLOSURE,
    "OutcomeReported": Category.DISCLOSURE,
    "ErasureRequested": Category.ERASURE,
    "PersonalDataErased": Category.ERASURE,
}
_WITHOUT_CATEGORY = frozenset({"DirectoryPublished", "AuditCheckpoint"})


def category_of(event_type: str) -> str | None:
    """Every other event of the contract changes a referral's state: an alteration."""
    if event_type in _WITHOUT_CATEGORY:
        return None
    return _BY_TYPE.get(event_type, Category.ALTERATION).value


def disclosure_of(data: Any) -> tuple[tuple[str, ...], str | None]:
    """Recipients and purpose (or legal basis) of an event: who received what, and why."""
    if isinstance(data, ReferralRouted):
        return (f"agency:{data.agency}",), f"isa:{data.isa_version}"
    if isinstance(data, ReferralRerouted):
        return (f"agency:{data.to_agency}",), f"isa:{data.isa_version}"
    if isinstance(data, OutcomeReported):
        return (f"force:{data.force}",), "outcome_feedback"
    if isinstance(data, ReferralConsulted):
        return (), data.purpose.value
    return (), None
