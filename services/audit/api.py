"""The auditors' HTTP API: a referral's timeline from the ledger, and the verification result.

Auditor role only (``Authorization: Bearer <token>``, the same tokens as casework). Reading
a referral's timeline is itself a consultation: a ReferralConsulted (purpose "audit") is
written to the outbox in the same transaction as the read, and reaches the ledger.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from referral_schemas import ConsultationPurpose, ReferralConsulted, make_envelope
from referral_schemas.topics import ACCESS_EVENTS

from services.audit import store
from services.audit.checkpoints import SOURCE
from services.audit.verification import verify_database
from services.audit.views import entry_json, verification_json
from services.runtime.auth import Identity, InvalidToken, TokenVerifier
from services.runtime.clock import Clock
from services.runtime.outbox import enqueue, event_message

AUDITOR = "auditor"
TIMELINE_VIA = "audit-api GET /audit/referrals/{id}/timeline"
_bearer = HTTPBearer(auto_error=False, description="A signed identity token (JWT).")


@dataclass(frozen=True)
class AuditDeps:
    pool: "asyncpg.Pool[Any]"
    verifier: TokenVerifier
    clock: Clock
    checkpoint_public_key: Ed25519PublicKey


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


def _deps(request: Request) -> AuditDeps:
    deps: AuditDeps = request.app.state.deps
    return deps


def auditor(
    deps: Annotated[AuditDeps, Depends(_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """A verified caller in the auditor role; 401 without a valid token, 403 otherwise."""
    if credentials is None:
        raise ApiError(401, "not_authenticated", "send 'Authorization: Bearer <token>'")
    try:
        identity = deps.verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise ApiError(401, "invalid_token", str(exc)) from None
    if identity.role != AUDITOR:
        raise ApiError(403, "auditors_only", "this API is for the auditor role only")
    return identity


Auditor = Annotated[Identity, Depends(auditor)]
Deps = Annotated[AuditDeps, Depends(_deps)]


async def _consulted(conn: Any, deps: AuditDeps, who: Identity, rid: uuid.UUID, corr: Any) -> None:
    now = deps.clock.now()
    consulted = ReferralConsulted(
        referral_id=rid,
        user=who.user,
        agency=who.agency,
        role=AUDITOR,
        purpose=ConsultationPurpose.AUDIT,
        consulted_at=now,
        via=TIMELINE_VIA,
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


def create_app(deps: AuditDeps) -> FastAPI:
    app = FastAPI(title="referral-hub audit", version="1")
    app.state.deps = deps

    @app.exception_handler(ApiError)
    async def on_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="referral-hub"'} if exc.status == 401 else None
        return JSONResponse({"error": exc.code, "detail": exc.detail}, exc.status, headers=headers)

    @app.get("/audit/referrals/{referral_id}/timeline")
    async def timeline(referral_id: uuid.UUID, who: Auditor, deps: Deps) -> dict[str, Any]:
        """Every ledger entry about the referral (events, actors, consultations), in ledger
        order. The read is recorded as a consultation."""
        async with deps.pool.acquire() as conn, conn.transaction():
            entries = await store.referral_entries(conn, referral_id)
            if not entries:
                raise ApiError(404, "not_found", "the ledger holds nothing about this referral")
            correlation = next(
                (e.content.correlation_id for e in entries if e.content.correlation_id), None
            )
            await _consulted(conn, deps, who, referral_id, correlation)
        return {"referral_id": str(referral_id), "entries": [entry_json(e) for e in entries]}

    @app.get("/audit/verification")
    async def verification(who: Auditor, deps: Deps) -> dict[str, Any]:
        """Every chain recomputed and every checkpoint checked, now."""
        async with deps.pool.acquire() as conn:
            result = await verify_database(conn, deps.checkpoint_public_key)
        return verification_json(result)

    return app
