"""The FastAPI application. OpenAPI at /openapi.json and docs at /docs only when
CASEWORK_API_DOCS=true; bodies over CASEWORK_MAX_BODY_BYTES answer 413; no response may be
cached (services.runtime.api_guard)."""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.casework.api import actions, directory, errors, queue
from services.casework.personal import DetailsOpener
from services.runtime.api_deps import ApiDeps
from services.runtime.api_guard import DEFAULT_HARDENING, ApiHardening, install_guard
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock

DESCRIPTION = """Staff API of referral-hub's casework service.

Every request carries `Authorization: Bearer <token>` (a signed identity token: user,
agency, role; valid for at most 12 hours). Staff see only their own agency's referrals:
any other id answers 404. A support worker answers offers to the agency (accepting assigns
the referral to them) and works only the referrals assigned to them (403
`not_assigned_to_you` otherwise); an agency lead works and assigns any of the agency's.
Police coordinators see the referrals their force raised (escalated ones included) and
resolve those no agency has accepted: direct to an agency, close with an outcome, or cancel.
Every action takes an `Idempotency-Key` header. Errors answer
`{"error": code, "detail": text}`; a refused action changes nothing (409 names the rule,
e.g. `referral_held`, `not_awaiting_acceptance`, `already_accepted`, `referral_cancelled`).
"""


def create_app(
    pool: "asyncpg.Pool[Any]",
    verifier: TokenVerifier,
    clock: Clock,
    opener: DetailsOpener,
    hardening: ApiHardening = DEFAULT_HARDENING,
) -> FastAPI:
    """``opener``: casework's key to the person's details, opened for a consultation."""
    app = FastAPI(
        title="referral-hub casework",
        version="1",
        description=DESCRIPTION,
        **hardening.fastapi_options(),
    )
    app.state.deps = ApiDeps(pool, verifier, clock)
    app.state.opener = opener
    install_guard(app, hardening)
    errors.install(app)
    app.include_router(queue.router)
    app.include_router(actions.router)
    app.include_router(directory.router)
    return app
