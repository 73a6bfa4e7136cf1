"""Which agency a referral goes to next, by the directory in force, and the event that
says so. Pure.

An agency is *suitable* for a district when it is active, covers the district's area and
offers vulnerability visits. A referral goes to the suitable agency it has not tried yet
with room left (open referrals < capacity), least loaded first (open/capacity), then by code.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from referral_schemas.directory_v1 import Agency, DirectoryPublished, ServiceKind
from referral_schemas.lifecycle import Lifecycle
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
)

S = ReferralStatus
RoutingEvent = ReferralRouted | ReferralRerouted | ReferralEscalated
"""What routing decides: an offer to an agency, a move to the next one, or an escalation."""

ROUTED_SERVICE = ServiceKind.VULNERABILITY_VISIT
"""The service a referral asks of an agency: a vulnerability visit to the person's home."""


def suitable_agencies(directory: DirectoryPublished, area_code: str) -> list[Agency]:
    return [
        a
        for a in directory.agencies
        if a.active and area_code in a.areas and ROUTED_SERVICE in a.services
    ]


def choose_agency(
    directory: DirectoryPublished,
    district: str,
    tried_agencies: Iterable[str],
    open_counts: Mapping[str, int],
    *,
    cause: RerouteCause | None = None,
) -> Agency | EscalationReason:
    """The agency to offer the referral to next, or why there is none.

    ``cause`` is why the referral is being rerouted (None on first routing); it names the
    escalation when every suitable agency has already had its chance.
    """
    area = directory.area_for_district(district)
    if area is None:
        return EscalationReason.NO_AGENCY_COVERS_AREA
    suitable = suitable_agencies(directory, area.code)
    if not suitable:
        return EscalationReason.NO_AGENCY_COVERS_AREA
    tried = set(tried_agencies)
    untried = [a for a in suitable if a.code not in tried]
    if not untried:
        if cause is RerouteCause.ACCEPTANCE_DEADLINE_MISSED:
            return EscalationReason.ACCEPTANCE_DEADLINE_MISSED
        return EscalationReason.ALL_AGENCIES_DECLINED
    with_room = [a for a in untried if open_counts.get(a.code, 0) < a.capacity]
    if not with_room:
        return EscalationReason.NO_AGENCY_WITH_CAPACITY
    return min(with_room, key=lambda a: (Fraction(open_counts.get(a.code, 0), a.capacity), a.code))


def directed_agency(directory: DirectoryPublished, code: str) -> Agency | None:
    """The agency a police coordinator directed a referral to, if the directory in force has
    it active. Capacity, coverage and services are the coordinator's call, not checked."""
    agency = directory.agency(code)
    return agency if agency is not None and agency.active else None


def has_room(directory: DirectoryPublished, code: str, open_counts: Mapping[str, int]) -> bool:
    agency = directory.agency(code)
    return agency is not None and open_counts.get(code, 0) < agency.capacity


@dataclass(frozen=True)
class Offer:
    """Building the next offer (or escalation) for one referral."""

    current: Lifecycle
    directory: DirectoryPublished
    open_counts: Mapping[str, int]
    now: datetime
    isa_version: str
    cause: RerouteCause
    """Why it is being rerouted, when it is (status rerouting)."""

    @property
    def area_code(self) -> str | None:
        area = self.directory.area_for_district(self.current.district)
        return area.code if area is not None else None

    def best(self) -> RoutingEvent | None:
        current = self.current
        cause = self.cause if current.status is S.REROUTING else None
        choice = choose_agency(
            self.directory, current.district, current.tried, self.open_counts, cause=cause
        )
        if isinstance(choice, EscalationReason):
            return self.escalation(choice)
        assert self.area_code is not None, "an agency is only chosen for a district in an area"
        return self.routed(choice.code, self.area_code, self.now + choice.acceptance_deadline)

    def directed(self, code: str) -> RoutingEvent | None:
        agency = directed_agency(self.directory, code)
        if agency is None:
            return self.escalation(EscalationReason.NO_AGENCY_COVERS_AREA)
        # The district's area when it has one; an uncovered district is worked from the
        # agency's own (first) area.
        area = self.area_code or self.current.area or agency.areas[0]
        return self.routed(agency.code, area, self.now + agency.acceptance_deadline)

    def escalation(self, reason: EscalationReason) -> ReferralEscalated | None:
        current = self.current
        if current.status is S.ESCALATED:
            return None  # still nowhere to go: it stays escalated, waiting
        return ReferralEscalated(
            referral_id=current.referral_id,
            reason=reason,
            area=self.area_code or current.area,
            escalated_at=self.now,
        )

    def routed(self, agency: str, area: str, due_by: datetime) -> RoutingEvent:
        current = self.current
        version = self.directory.version
        if current.status is S.REROUTING:
            return ReferralRerouted(
                referral_id=current.referral_id,
                from_agency=current.tried[-1],
                to_agency=agency,
                area=area,
                cause=self.cause,
                due_by=due_by,
                rerouted_at=self.now,
                directory_version=version,
                isa_version=self.isa_version,
            )
        return ReferralRouted(
            referral_id=current.referral_id,
            agency=agency,
            area=area,
            due_by=due_by,
            routed_at=self.now,
            directory_version=version,
            isa_version=self.isa_version,
        )
