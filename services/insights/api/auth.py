"""Who may read the figures: a verified bearer token with one of insights' roles.

Deny by default: no token or a bad one answers 401 (with ``WWW-Authenticate``); any role
not listed in ``Role`` (support workers and agency leads included) answers 403. The figures
are aggregates with no personal data, so no agency or force scoping applies.
"""

import enum
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.runtime.api_errors import ApiError
from services.runtime.auth import InvalidToken, TokenVerifier
from services.runtime.clock import Clock

_bearer = HTTPBearer(auto_error=False, description="A signed identity token (JWT).")


class Role(enum.StrEnum):
    PROGRAMME_MANAGER = "programme_manager"
    POLICE_COORDINATOR = "police_coordinator"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Reader:
    user: str
    role: Role


@dataclass(frozen=True)
class ApiDeps:
    """What the routes need, set on ``app.state.deps`` by ``create_app``."""

    pool: "asyncpg.Pool[Any]"
    verifier: TokenVerifier
    clock: Clock


def get_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


def _unauthorized(error: str | None, detail: str) -> ApiError:
    challenge = 'Bearer realm="referral-hub"'
    if error is not None:
        challenge += f', error="{error}"'
    code = error or "not_authenticated"
    return ApiError(401, code, detail, {"WWW-Authenticate": challenge})


def current_reader(
    deps: Annotated[ApiDeps, Depends(get_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reader:
    if credentials is None:
        raise _unauthorized(None, "send 'Authorization: Bearer <token>'")
    try:
        identity = deps.verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized("invalid_token", str(exc)) from None
    try:
        role = Role(identity.role)
    except ValueError:
        raise ApiError(
            403,
            "forbidden_role",
            "the programme figures are for programme managers, police coordinators and auditors",
        ) from None
    return Reader(user=identity.user, role=role)


CurrentReader = Annotated[Reader, Depends(current_reader)]
Deps = Annotated[ApiDeps, Depends(get_deps)]
