"""The FastAPI application: OpenAPI at /openapi.json, docs at /docs."""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.insights.api import routes
from services.insights.api.auth import ApiDeps
from services.runtime.api_errors import install_error_handlers
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock

DESCRIPTION = """Programme figures of referral-hub (insights service): per area and calendar
month, as JSON or CSV, and active county lines as of a date. Aggregates only: no personal
data, no single referral.

Every request carries `Authorization: Bearer <token>`; the roles programme_manager,
police_coordinator and auditor may read, every other role is refused (403). Errors answer
`{"error": code, "detail": text}`.
"""


def create_app(pool: "asyncpg.Pool[Any]", verifier: TokenVerifier, clock: Clock) -> FastAPI:
    app = FastAPI(title="referral-hub insights", version="1", description=DESCRIPTION)
    app.state.deps = ApiDeps(pool, verifier, clock)
    install_error_handlers(app)
    app.include_router(routes.router)
    return app
