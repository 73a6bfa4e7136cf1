"""Who is calling: the bearer token verified, and the auditor role required.

No token or a bad token: 401 with ``WWW-Authenticate``; any other role: 403. Every refusal
is logged as a security event (services.runtime.security_log).
"""

from typing import Annotated

from fastapi import Depends

from services.audit.usecases import AUDITOR
from services.runtime.api_auth import VerifiedIdentity
from services.runtime.api_errors import ApiError
from services.runtime.auth import Identity


def auditor(identity: VerifiedIdentity) -> Identity:
    """A verified caller in the auditor role; 401 without a valid token, 403 otherwise."""
    if identity.role != AUDITOR:
        raise ApiError(403, "auditors_only", "this API is for the auditor role only")
    return identity


Auditor = Annotated[Identity, Depends(auditor)]
