"""What an HTTP API's routes need (its pool, token verifier and clock), set once on
``app.state.deps`` by the service's ``create_app`` and read by ``get_deps``."""

from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock


@dataclass(frozen=True)
class ApiDeps:
    pool: "asyncpg.Pool[Any]"
    verifier: TokenVerifier
    clock: Clock


def get_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


Deps = Annotated[ApiDeps, Depends(get_deps)]
