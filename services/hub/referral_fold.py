"""Referrals as every service sees them: referral.events folded with the shared
``lifecycle.evolve``, in log order. An event the fold refuses has no effect, and a record
not rightfully signed (``rightfully_signed``) is not folded at all.

Besides the lifecycle, the operator's listing shows the risk level and reason categories
from the latest intake event that took effect (ReferralOpened, ReferralLinked,
ReferralAmended). Nothing personal is kept here.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace

from referral_schemas import EventData, EventRejected, parse_event
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES
from referral_schemas.producers import may_publish

from services.hub.topic_reader import LogRecord
from services.runtime.provenance import TrustStore


@dataclass(frozen=True)
class ReferralSummary:
    lifecycle: Lifecycle
    risk_level: str
    reason_categories: tuple[str, ...]


def lifecycle_event(value: bytes) -> EventData | None:
    """The referral event a record holds; None for anything else (or unreadable)."""
    try:
        envelope = parse_event(value)
    except EventRejected:
        return None
    return envelope.data if envelope.type in LIFECYCLE_EVENT_TYPES else None


def rightfully_signed(trust: TrustStore, record: LogRecord) -> bool:
    """Signed by a trusted key of a producer that may publish what the record holds: the
    services dead-letter anything else, so the hub does not fold it either."""
    verdict = trust.verify(record.topic, record.key, record.value, record.headers)
    if verdict.producer is None:
        return False
    data = lifecycle_event(record.value)
    return data is None or may_publish(verdict.producer, record.topic, data.EVENT_TYPE, data)


def summarise(summary: ReferralSummary | None, data: EventData) -> ReferralSummary | Refusal:
    """The summary after one event, or why the event has no effect."""
    folded = evolve(summary.lifecycle if summary else None, data)
    if isinstance(folded, Refusal):
        return folded
    risk = getattr(data, "risk_level", None)
    reasons = getattr(data, "reason_categories", None)
    if summary is None:
        return ReferralSummary(folded, str(risk), tuple(str(r) for r in reasons or ()))
    summary = replace(summary, lifecycle=folded)
    if risk is not None and reasons is not None:
        summary = replace(
            summary, risk_level=str(risk), reason_categories=tuple(str(r) for r in reasons)
        )
    return summary


def fold_referrals(values: Iterable[bytes]) -> dict[str, ReferralSummary]:
    """Every referral on the log, by id. ``values`` must keep each referral's log order
    (records of one partition in offset order)."""
    referrals: dict[str, ReferralSummary] = {}
    for value in values:
        data = lifecycle_event(value)
        if data is None:
            continue
        referral_id = data.kafka_key()
        result = summarise(referrals.get(referral_id), data)
        if not isinstance(result, Refusal):
            referrals[referral_id] = result
    return referrals


def refusals(values: Iterable[bytes]) -> list[Refusal | None]:
    """For one referral's records in log order: why each had no effect (None: it had one,
    or it is not a lifecycle event)."""
    summary: ReferralSummary | None = None
    found: list[Refusal | None] = []
    for value in values:
        data = lifecycle_event(value)
        result = summarise(summary, data) if data is not None else None
        if isinstance(result, ReferralSummary):
            summary = result
        found.append(result if isinstance(result, Refusal) else None)
    return found
