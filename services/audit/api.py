"""The auditors' HTTP API: a referral's timeline from the ledger, the verification result,
the referrals with ledger activity in a period, and the sealed export as a download.

Auditor role only (``Authorization: Bearer <token>``, the same tokens as casework; refusals
are logged as security events). Bodies, caching and docs as every API of the hub
(services.runtime.api_guard: AUDIT_MAX_BODY_BYTES, AUDIT_API_DOCS). Reading
a referral's timeline is itself a consultation: a ReferralConsulted (purpose "audit") is
written to the outbox in the same transaction as the read, and reaches the ledger. So is an
export: one consultation per referral whose entries the file holds. The period search lists
referral ids and counts only, and records nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from referral_schemas import ConsultationPurpose, ReferralConsulted, make_envelope
from referral_schemas.topics import ACCESS_EVENTS

from services.audit import export as exports
from services.audit import store
from services.audit.checkpoints import SOURCE
from services.audit.entries import time_text
from services.audit.record_reader import RecordSource
from services.audit.signing import SigningKey
from services.audit.verification import verify_database
from services.audit.views import referral_effects, timeline_json, verification_json
from services.runtime.api_auth import authenticate, bearer
from services.runtime.api_errors import ApiError, install_error_handlers
from services.runtime.api_guard import DEFAULT_HARDENING, ApiHardening, install_guard
from services.runtime.auth import Identity, TokenVerifier
from services.runtime.clock import Clock
from services.runtime.outbox import enqueue, event_message

AUDITOR = "auditor"
TIMELINE_VIA = "audit-api GET /audit/referrals/{id}/timeline"
EXPORT_VIA = "audit-api GET /audit/export"
EXPORT_MEDIA_TYPE = "application/jsonl"
MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
"""Bounds every numeric parameter: a larger page is refused (422), not overflowed (500)."""


@dataclass(frozen=True)
class AuditDeps:
    pool: "asyncpg.Pool[Any]"
    verifier: TokenVerifier
    clock: Clock
    checkpoint_public_key: Ed25519PublicKey
    signing_key: SigningKey | None = None
    """The checkpoint key, which also seals exports (none: no export download)."""
    records: RecordSource | None = None
    """Reads a referral's records back from Kafka, to mark the events that had no effect
    (none: timelines carry no effects)."""


def _deps(request: Request) -> AuditDeps:
    deps: AuditDeps = request.app.state.deps
    return deps


def auditor(
    request: Request,
    deps: Annotated[AuditDeps, Depends(_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    """A verified caller in the auditor role; 401 without a valid token, 403 otherwise."""
    identity = authenticate(request, deps.verifier, credentials)
    if identity.role != AUDITOR:
        raise ApiError(403, "auditors_only", "this API is for the auditor role only")
    return identity


Auditor = Annotated[Identity, Depends(auditor)]
Deps = Annotated[AuditDeps, Depends(_deps)]


async def _consulted(
    conn: Any, deps: AuditDeps, who: Identity, rid: uuid.UUID, corr: Any, via: str = TIMELINE_VIA
) -> None:
    now = deps.clock.now()
    consulted = ReferralConsulted(
        referral_id=rid,
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
        subject=str(rid),
        correlation_id=corr or event_id,
        causation_id=None,
        actor=f"user:{who.user}",
        agency=who.agency,
    )
    await enqueue(conn, [event_message(ACCESS_EVENTS, str(rid), envelope)])


def create_app(deps: AuditDeps, hardening: ApiHardening = DEFAULT_HARDENING) -> FastAPI:
    app = FastAPI(title="referral-hub audit", version="1", **hardening.fastapi_options())
    app.state.deps = deps
    install_guard(app, hardening)
    install_error_handlers(app)

    @app.get("/audit/referrals/{referral_id}/timeline")
    async def timeline(referral_id: uuid.UUID, who: Auditor, deps: Deps) -> dict[str, Any]:
        """Every ledger entry about the referral (events, actors, consultations), in ledger
        order, each referral event with its effect (``applied``, ``no effect: <code>`` or
        ``unknown``; see services/audit/effects.py). The read is recorded as a consultation."""
        async with deps.pool.acquire() as conn, conn.transaction():
            entries = await store.referral_entries(conn, referral_id)
            if not entries:
                raise ApiError(404, "not_found", "the ledger holds nothing about this referral")
            correlation = next(
                (e.content.correlation_id for e in entries if e.content.correlation_id), None
            )
            await _consulted(conn, deps, who, referral_id, correlation)
        marks = await referral_effects(entries, deps.records)
        return {"referral_id": str(referral_id), "entries": timeline_json(entries, marks)}

    @app.get("/audit/verification")
    async def verification(who: Auditor, deps: Deps) -> dict[str, Any]:
        """Every chain recomputed and every checkpoint checked, now."""
        async with deps.pool.acquire() as conn:
            result = await verify_database(conn, deps.checkpoint_public_key)
        return verification_json(result)

    @app.get("/audit/referrals")
    async def referrals(
        who: Auditor,
        deps: Deps,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        """Referrals with ledger entries appended in [from, to) (the period an export of the
        same bounds covers), most recently active first, with their counts in the period."""
        start, end = _utc(start), _utc(end)
        if start is not None and end is not None and end <= start:
            raise ApiError(422, "bad_period", "'to' must be after 'from'")
        async with deps.pool.acquire() as conn:
            total, rows = await store.referrals_in_period(
                conn, start, end, limit=page_size, offset=(page - 1) * page_size
            )
        return {
            "from": time_text(start),
            "to": time_text(end),
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

    @app.get("/audit/export")
    async def export(
        who: Auditor,
        deps: Deps,
        referral: uuid.UUID | None = None,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
    ) -> Response:
        """The sealed JSON Lines export ``hub audit export`` writes, as a download; verify it
        with ``hub audit verify --file``. Each referral it holds is recorded as consulted."""
        if (referral is None) == (start is None and end is None):
            raise ApiError(422, "bad_scope", "give either 'referral', or 'from' and/or 'to'")
        if deps.signing_key is None:
            raise ApiError(503, "no_export_key", "this instance has no key to seal exports")
        async with deps.pool.acquire() as conn:
            found = await exports.gather(
                conn, referral=referral, start=_utc(start), end=_utc(end), records=deps.records
            )
            if referral is not None and not found.entries:
                raise ApiError(404, "not_found", "the ledger holds nothing about this referral")
            consulted = _referrals_of(found, referral)
            async with conn.transaction():
                for rid, correlation in consulted.items():
                    await _consulted(conn, deps, who, rid, correlation, EXPORT_VIA)
        data = exports.render(found, deps.signing_key, deps.clock.now())
        name = f"referral-{referral}" if referral is not None else "period"
        stamp = f"{deps.clock.now().astimezone(UTC):%Y%m%dT%H%M%SZ}"
        return Response(
            data,
            media_type=EXPORT_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="audit-{name}-{stamp}.jsonl"'},
        )

    return app


def _utc(moment: datetime | None) -> datetime | None:
    """Naive times are UTC (as in ``hub audit export --from``)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _referrals_of(found: exports.Export, referral: uuid.UUID | None) -> dict[uuid.UUID, Any]:
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
