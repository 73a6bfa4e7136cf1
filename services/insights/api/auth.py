"""Who may read the figures: a verified bearer token with one of insights' roles, and the
claim that says whose figures they are.

Deny by default: no token or a bad one answers 401 (with ``WWW-Authenticate``, logged as a
security event by the runtime's ``authenticate``, like every API's); a role not
listed in ``Role`` answers 403 ``forbidden_role``; a role whose reach needs a claim the
token lacks (a police coordinator or programme manager without ``force``, agency staff
without ``agency``) answers 403 ``no_scope``. Which areas each reader then sees is
``scope.py``'s business.
"""

import enum
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.runtime.api_auth import VerifiedIdentity
from services.runtime.api_errors import ApiError


class Role(enum.StrEnum):
    PROGRAMME_MANAGER = "programme_manager"
    POLICE_COORDINATOR = "police_coordinator"
    SUPPORT_WORKER = "support_worker"
    AGENCY_LEAD = "agency_lead"
    AUDITOR = "auditor"


class Reach(enum.StrEnum):
    """Whose figures a role reads."""

    EVERYTHING = "everything"
    """Every area, and what no area covers, with exact counts."""
    FORCE = "force"
    """The areas of the token's force (the directory's ``area.force``)."""
    AGENCY = "agency"
    """The areas the token's agency serves (the directory's ``agency.areas``)."""


REACH = {
    Role.AUDITOR: Reach.EVERYTHING,
    Role.POLICE_COORDINATOR: Reach.FORCE,
    Role.PROGRAMME_MANAGER: Reach.FORCE,
    Role.SUPPORT_WORKER: Reach.AGENCY,
    Role.AGENCY_LEAD: Reach.AGENCY,
}


@dataclass(frozen=True)
class Reader:
    user: str
    role: Role
    force: str | None = None
    agency: str | None = None

    @property
    def reach(self) -> Reach:
        return REACH[self.role]


def current_reader(identity: VerifiedIdentity) -> Reader:
    try:
        role = Role(identity.role)
    except ValueError:
        raise ApiError(
            403,
            "forbidden_role",
            "the programme figures are for programme managers, police coordinators, agency "
            "staff and auditors",
        ) from None
    reader = Reader(identity.user, role, identity.force, identity.agency)
    if reader.reach is Reach.FORCE and reader.force is None:
        raise ApiError(403, "no_scope", f"a {role} token must name the force ('force' claim)")
    if reader.reach is Reach.AGENCY and reader.agency is None:
        raise ApiError(403, "no_scope", f"a {role} token must name the agency ('agency' claim)")
    return reader


CurrentReader = Annotated[Reader, Depends(current_reader)]
