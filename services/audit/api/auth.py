"""Who is calling: the bearer token verified, and the auditor role required.

No token or a bad token: 401 with ``WWW-Authenticate``; any other role: 403. Every refusal
is logged as a security event (services.runtime.security_log).
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from services.audit.usecases import AUDITOR
from services.runtime.api_auth import authenticate, bearer
from services.runtime.api_deps import ApiDeps, get_deps
from services.runtime.api_errors import ApiError
from services.runtime.auth import Identity


def auditor(
    request: Request,
    deps: Annotated[ApiDeps, Depends(get_deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    """A verified caller in the auditor role; 401 without a valid token, 403 otherwise."""
    identity = authenticate(request, deps.verifier, credentials)
    if identity.role != AUDITOR:
        raise ApiError(403, "auditors_only", "this API is for the auditor role only")
    return identity


Auditor = Annotated[Identity, Depends(auditor)]
