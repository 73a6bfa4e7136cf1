"""The FastAPI application: OpenAPI at /openapi.json, docs at /docs."""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.casework.api import actions, directory, errors, queue
from services.casework.api.auth import ApiDeps
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock

DESCRIPTION = """Staff API of referral-hub's casework service.

Every request carries `Authorization: Bearer <token>` (a signed identity token: user,
agency, role). Staff see only their own agency's referrals: any other id answers 404.
Police coordinators see the referrals their force raised (escalated ones included) and
resolve those no agency has accepted: direct to an agency, close with an outcome, or cancel.
Every action takes an `Idempotency-Key` header. Errors answer
`{"error": code, "detail": text}`; a refused action changes nothing (409 names the rule,
e.g. `referral_held`, `not_awaiting_acceptance`, `already_accepted`, `referral_cancelled`).
"""


def create_app(pool: "asyncpg.Pool[Any]", verifier: TokenVerifier, clock: Clock) -> FastAPI:
    app = FastAPI(title="referral-hub casework", version="1", description=DESCRIPTION)
    app.state.deps = ApiDeps(pool, verifier, clock)
    errors.install(app)
    app.include_router(queue.router)
    app.include_router(actions.router)
    app.include_router(directory.router)
    return app
