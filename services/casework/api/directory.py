"""The agencies of the directory in force, for a police coordinator directing a referral."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.casework.api.auth import CurrentActor
from services.casework.store import PgCaseworkStore
from services.runtime.api_deps import Deps

router = APIRouter(tags=["directory"])


class AgencyView(BaseModel):
    code: str = Field(description="The agency's code, e.g. 'twc-barrow'.")
    name: str = Field(description="The agency's name.")
    active: bool = Field(description="Whether a referral may be directed to it.")
    areas: list[str] = Field(description="Codes of the areas it covers.")


class Agencies(BaseModel):
    received: bool = Field(
        description="Whether casework has received a directory version; without one, a "
        "direction is not checked here and routing escalates again for an unknown agency."
    )
    agencies: list[AgencyView]


@router.get("/agencies", response_model=Agencies)
async def agencies(actor: CurrentActor, deps: Deps) -> Agencies:
    """The agencies of the directory in force (the highest version casework received from
    hub.directory). Codes and names only: the directory holds no personal data."""
    async with deps.pool.acquire() as conn:
        found = await PgCaseworkStore(conn).directory_agencies()
    if found is None:
        return Agencies(received=False, agencies=[])
    return Agencies(received=True, agencies=[AgencyView(**a) for a in found])
