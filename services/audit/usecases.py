"""The auditors' API's work, on an ``AuditorStore`` (auditor_store.py).

Reading a referral's timeline is itself a consultation: a ReferralConsulted (purpose
"audit") is written to the outbox in the same transaction as the read, and reaches the
ledger. So is an export: one consultation per referral whose entries the file holds. The
period search lists referral ids and counts only, and records nothing; so does the
verification.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referral_schemas import ConsultationPurpose, ReferralConsulted, make_envelope
from referral_schemas.topics import ACCESS_EVENTS

from services.audit.auditor_store import AuditorStore, ExportScope
from services.audit.checkpoints import SOURCE
from services.audit.entries import time_text
from services.audit.export import Export, render
from services.audit.record_reader import RecordSource
from services.audit.signing import SigningKey
from services.audit.views import referral_effects, timeline_json, verification_json
from services.runtime.auth import Identity
from services.runtime.clock import Clock
from services.runtime.outbox import OutgoingMessage, event_message

AUDITOR = "auditor"
TIMELINE_VIA = "audit-api GET /audit/referrals/{id}/timeline"
EXPORT_VIA = "audit-api GET /audit/export"


class NothingLedgered(Exception):
    """The ledger holds nothing about the referral asked for; nothing was recorded."""


@dataclass(frozen=True)
class Period:
    """[start, end): either bound may be open."""

    start: datetime | None = None
    end: datetime | None = None


def consultation(
    who: Identity, referral_id: uuid.UUID, correlation: Any, now: datetime, via: str
) -> OutgoingMessage:
    """The ReferralConsulted (purpose "audit") an auditor's read of the referral records."""
    consulted = ReferralConsulted(
        referral_id=referral_id,
        user=who.user,
        agency=who.agency,
        role=AUDITOR,
        purpose=ConsultationPurpose.AUDIT,
        consulted_at=now,
        via=via,
    )
    event_id = uuid.uuid4()
    envelope = make_envelope(
        consulted,
        id=event_id,
        source=SOURCE,
        time=now,
        subject=str(referral_id),
        correlation_id=correlation or event_id,
        causation_id=None,
        actor=f"user:{who.user}",
        agency=who.agency,
    )
    return event_message(ACCESS_EVENTS, str(referral_id), envelope)


async def timeline(
    store: AuditorStore,
    who: Identity,
    referral_id: uuid.UUID,
    clock: Clock,
    records: RecordSource | None,
) -> list[dict[str, Any]]:
    """Every ledger entry about the referral, each referral event with its effect (with
    ``records``); the read is recorded as a consultation in the same transaction."""
    async with store.transaction():
        entries = await store.referral_entries(referral_id)
        if not entries:
            raise NothingLedgered(referral_id)
        correlation = next(
            (e.content.correlation_id for e in entries if e.content.correlation_id), None
        )
        await store.record([consultation(who, referral_id, correlation, clock.now(), TIMELINE_VIA)])
    marks = await referral_effects(entries, records)
    return timeline_json(entries, marks)


async def verification(store: AuditorStore, public: Ed25519PublicKey) -> dict[str, Any]:
    """Every chain recomputed and every checkpoint checked, now."""
    return verification_json(await store.verify(public))


async def referrals(
    store: AuditorStore, period: Period, page: int, page_size: int
) -> dict[str, Any]:
    """One page of the referrals with ledger entries appended in the period (the period an
    export of the same bounds covers), most recently active first, with their counts."""
    total, rows = await store.referrals_in_period(
        period.start, period.end, limit=page_size, offset=(page - 1) * page_size
    )
    return {
        "from": time_text(period.start),
        "to": time_text(period.end),
        "page": page,
        "page_size": page_size,
        "total": total,
        "referrals": [
            {
                "referral_id": str(r.referral_id),
                "entries": r.entries,
                "consultations": r.consultations,
                "first_at": time_text(r.first_at),
                "last_at": time_text(r.last_at),
            }
            for r in rows
        ],
    }


async def export(
    store: AuditorStore,
    who: Identity,
    scope: ExportScope,
    key: SigningKey,
    clock: Clock,
    records: RecordSource | None,
) -> bytes:
    """The sealed export of ``scope`` (services/audit/export.py); each referral it holds is
    recorded as consulted, in one transaction after the snapshot is read."""
    found = await store.gather(scope, records)
    if scope.referral is not None and not found.entries:
        raise NothingLedgered(scope.referral)
    async with store.transaction():
        for rid, correlation in referrals_of(found, scope.referral).items():
            await store.record([consultation(who, rid, correlation, clock.now(), EXPORT_VIA)])
    return render(found, key, clock.now())


def referrals_of(found: Export, referral: uuid.UUID | None) -> Mapping[uuid.UUID, Any]:
    """The referrals whose entries the export holds, each with a correlation id to use."""
    if referral is not None:
        ids: dict[uuid.UUID, Any] = {referral: None}
    else:
        ids = {}
    for e in found.entries:
        rid = e.content.referral_id
        if rid is not None and (rid == referral or referral is None):
            ids[rid] = ids.get(rid) or e.content.correlation_id
    return ids
