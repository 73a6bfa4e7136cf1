"""Who is calling: the bearer token verified, its role mapped to casework's roles.

No token or a bad token: 401 with ``WWW-Authenticate``. A role casework does not know: 403.
Staff tokens must name an agency and police tokens a force, or they grant nothing. Every
refusal is logged as a security event (services.runtime.security_log).
"""

from typing import Annotated

from fastapi import Depends

from services.casework.decisions import POLICE, STAFF, Actor, Role
from services.runtime.api_auth import VerifiedIdentity, unauthorized
from services.runtime.api_errors import ApiError


def current_actor(identity: VerifiedIdentity) -> Actor:
    try:
        role = Role(identity.role)
    except ValueError:
        raise ApiError(403, "unknown_role", "the token's role is not a casework role") from None
    if role in STAFF and identity.agency is None:
        raise unauthorized(
            "invalid_token", "a staff token must name an agency", reason="no_agency_claim"
        )
    if role in POLICE and identity.force is None:
        raise unauthorized(
            "invalid_token",
            "a police coordinator's token must name a force",
            reason="no_force_claim",
        )
    return Actor(user=identity.user, role=role, agency=identity.agency, force=identity.force)


CurrentActor = Annotated[Actor, Depends(current_actor)]
