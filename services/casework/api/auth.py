"""Who is calling: the bearer token verified, its role mapped to casework's roles.

No token or a bad token: 401 with ``WWW-Authenticate``. A role casework does not know: 403.
Staff tokens must name an agency and police tokens a force, or they grant nothing.
"""

from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.casework.decisions import POLICE, STAFF, Actor, Role
from services.runtime.api_errors import ApiError
from services.runtime.auth import InvalidToken, TokenVerifier
from services.runtime.clock import Clock

_bearer = HTTPBearer(auto_error=False, description="A signed identity token (JWT).")


@dataclass(frozen=True)
class ApiDeps:
    """What the routes need, set on ``app.state.deps`` by ``create_app``."""

    pool: "asyncpg.Pool[Any]"
    verifier: TokenVerifier
    clock: Clock


def get_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


def _unauthorized(error: str, detail: str) -> ApiError:
    header = (
        f'Bearer realm="referral-hub", error="{error}"'
        if error != "not_authenticated"
        else ('Bearer realm="referral-hub"')
    )
    return ApiError(401, error, detail, {"WWW-Authenticate": header})


def current_actor(
    deps: Annotated[ApiDeps, Depends(get_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None:
        raise _unauthorized("not_authenticated", "send 'Authorization: Bearer <token>'")
    try:
        identity = deps.verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized("invalid_token", str(exc)) from None
    try:
        role = Role(identity.role)
    except ValueError:
        raise ApiError(403, "unknown_role", "the token's role is not a casework role") from None
    if role in STAFF and identity.agency is None:
        raise _unauthorized("invalid_token", "a staff token must name an agency")
    if role in POLICE and identity.force is None:
        raise _unauthorized("invalid_token", "a police coordinator's token must name a force")
    return Actor(user=identity.user, role=role, agency=identity.agency, force=identity.force)


CurrentActor = Annotated[Actor, Depends(current_actor)]
Deps = Annotated[ApiDeps, Depends(get_deps)]
