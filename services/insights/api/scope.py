"""Whose figures a reader may see: the areas of their force or their agency, by the
directory in force, read in the same snapshot as the figures.

- Auditors: every area, and the rows of what no area covers (area null), exact.
- Police coordinators and programme managers: the areas whose ``force`` is the token's
  force. A programme (e.g. a commissioner's office) reports on its force's areas.
- Agency staff and leads: the areas their agency serves. Figures are kept per area and
  month, not per agency, so an agency sees the same cells as the programme in its areas;
  a second cut by agency would let two readers difference the cells apart.
- Everyone but auditors: small counts withheld (``services.insights.suppression``), and no
  row of what no area covers (it may mix forces).

Asking for an area outside one's scope (``?area=``) answers 403 ``area_out_of_scope``;
without ``area``, the answer holds the reader's areas only, and no row at all when the
directory in force gives them none (another force's coordinator gets an empty list, never
a figure of Cumbria). Area codes are not secret: they name places, and the directory lists
them for everyone.
"""

from dataclasses import dataclass

from services.insights.api.auth import Reach, Reader
from services.runtime.api_errors import ApiError
from services.runtime.db import Connection


@dataclass(frozen=True)
class Scope:
    areas: frozenset[str] | None
    """The area codes the reader may see; None: every area and what no area covers."""
    exact: bool
    """Whether counts are shown exactly (auditors) or small ones withheld."""

    def allows(self, area: str | None) -> bool:
        return self.areas is None or area in self.areas

    def sorted_areas(self) -> list[str] | None:
        return None if self.areas is None else sorted(self.areas)


async def scope_of(conn: Connection, reader: Reader) -> Scope:
    """The reader's scope by the directory in force (run in the figures' transaction)."""
    if reader.reach is Reach.EVERYTHING:
        return Scope(None, exact=True)
    if reader.reach is Reach.FORCE:
        rows = await conn.fetch("SELECT code AS area FROM areas WHERE force = $1", reader.force)
    else:
        rows = await conn.fetch("SELECT area FROM agency_areas WHERE agency = $1", reader.agency)
    return Scope(frozenset(row["area"] for row in rows), exact=False)


def check_area(scope: Scope, area: str | None) -> None:
    """Refuse an explicit area the reader may not see."""
    if area is not None and not scope.allows(area):
        raise ApiError(403, "area_out_of_scope", "that area is not one of your areas")
