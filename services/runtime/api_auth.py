"""Who is calling an HTTP API: the bearer token, verified, or a 401 (logged, with why).

Each API maps the verified identity's role to its own roles; a refusal after this point is
a 403 (``ApiError``), logged with the caller noted here.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.runtime.api_deps import ApiDeps, get_deps
from services.runtime.api_errors import ApiError
from services.runtime.auth import Identity, InvalidToken, TokenVerifier
from services.runtime.security_log import note_caller

bearer = HTTPBearer(auto_error=False, description="A signed identity token (JWT).")
"""The dependency reading ``Authorization: Bearer <token>`` (None when absent)."""
REALM = 'Bearer realm="referral-hub"'


def unauthorized(error: str, detail: str, reason: str) -> ApiError:
    """A 401 with the challenge RFC 6750 asks for (``error`` named when a token was sent)."""
    challenge = REALM if error == "not_authenticated" else f'{REALM}, error="{error}"'
    return ApiError(401, error, detail, {"WWW-Authenticate": challenge}, reason=reason)


def authenticate(
    request: Request, verifier: TokenVerifier, credentials: HTTPAuthorizationCredentials | None
) -> Identity:
    """The verified caller; 401 ``not_authenticated`` without a token, ``invalid_token``
    with a bad one (the security log gets the reason, never the token)."""
    if credentials is None:
        raise unauthorized(
            "not_authenticated", "send 'Authorization: Bearer <token>'", reason="no_token"
        )
    try:
        identity = verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise unauthorized("invalid_token", str(exc), reason=exc.reason) from None
    note_caller(request, user=identity.user, role=identity.role)
    return identity


def verified_identity(
    request: Request,
    deps: Annotated[ApiDeps, Depends(get_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    """The dependency every API's own role check starts from: the caller, verified."""
    return authenticate(request, deps.verifier, credentials)


VerifiedIdentity = Annotated[Identity, Depends(verified_identity)]
"""A route or dependency parameter typed this way receives the verified caller."""
