"""The FastAPI application: a referral's timeline from the ledger, the verification result,
the referrals with ledger activity in a period, and the sealed export as a download.

Auditor role only (``Authorization: Bearer <token>``, the same tokens as casework; refusals
are logged as security events). Bodies, caching and docs as every API of the hub
(services.runtime.api_guard: AUDIT_MAX_BODY_BYTES, AUDIT_API_DOCS). What each read records
is in services/audit/usecases.py.
"""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.audit.api import errors, export, referrals, timeline, verification
from services.audit.api.deps import LedgerDeps
from services.runtime.api_deps import ApiDeps
from services.runtime.api_guard import DEFAULT_HARDENING, ApiHardening, install_guard
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock


def create_app(
    pool: "asyncpg.Pool[Any]",
    verifier: TokenVerifier,
    clock: Clock,
    ledger: LedgerDeps,
    hardening: ApiHardening = DEFAULT_HARDENING,
) -> FastAPI:
    """``ledger``: the checkpoint key (and the key sealing exports) and the record source."""
    app = FastAPI(title="referral-hub audit", version="1", **hardening.fastapi_options())
    app.state.deps = ApiDeps(pool, verifier, clock)
    app.state.ledger = ledger
    install_guard(app, hardening)
    errors.install(app)
    app.include_router(timeline.router)
    app.include_router(verification.router)
    app.include_router(referrals.router)
    app.include_router(export.router)
    return app
