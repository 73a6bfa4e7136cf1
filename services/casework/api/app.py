"""The FastAPI application: OpenAPI at /openapi.json, docs at /docs."""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.casework.api import actions, errors, queue
from services.casework.api.auth import ApiDeps
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock

DESCRIPTION = """Staff API of referral-hub's casework service.

Every request carries `Authorization: Bearer <token>` (a signed identity token: user,
agency, role). Staff see only their own agency's referrals: any other id answers 404.
Every action takes an `Idempotency-Key` header. Errors answer
`{"error": code, "detail": text}`.
"""


def create_app(pool: "asyncpg.Pool[Any]", verifier: TokenVerifier, clock: Clock) -> FastAPI:
    app = FastAPI(title="referral-hub casework", version="1", description=DESCRIPTION)
    app.state.deps = ApiDeps(pool, verifier, clock)
    errors.install(app)
    app.include_router(queue.router)
    app.include_router(actions.router)
    return app
