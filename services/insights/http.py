"""insights' figures API, served inside the service process (see services.runtime.http)."""

from typing import Any

import asyncpg

from services.insights.api.app import create_app
from services.runtime.api_guard import ApiHardening
from services.runtime.app import BackgroundTask
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock
from services.runtime.http import http_task as serve_http


def http_task(
    host: str, port: int, verifier: TokenVerifier, clock: Clock, hardening: ApiHardening
) -> BackgroundTask:
    def build(pool: "asyncpg.Pool[Any]") -> Any:
        return create_app(pool, verifier, clock, hardening)

    return serve_http(build, host, port)
