"""Triage: a risk level from what the intelligence indicates. Pure.

The rules follow the partnership's priorities: children first, then people whose home is
taken over or who are held by debt, then everything else. Visitor-safety markers do not
raise the risk to the person; they change how a visit is made, not how soon.
"""

from collections.abc import Iterable
from datetime import date

from referral_schemas import Indicator, RiskLevel

ADULTHOOD_YEARS = 18

_CRITICAL = frozenset({Indicator.CHILD_CRIMINAL_EXPLOITATION, Indicator.SEXUAL_EXPLOITATION})
_HIGH = frozenset(
    {
        Indicator.CUCKOOING,
        Indicator.DEBT_BONDAGE,
        Indicator.MODERN_SLAVERY,
        Indicator.MISSING_FROM_HOME,
    }
)
_MEDIUM = frozenset(
    {
        Indicator.ADULT_CRIMINAL_EXPLOITATION,
        Indicator.DRUG_RUNNING,
        Indicator.DRUG_DEALING_FROM_ADDRESS,
    }
)


def is_child(date_of_birth: date | None, on: date) -> bool:
    """Under 18 on the given day; unknown age counts as adult (the indicators still apply)."""
    if date_of_birth is None:
        return False
    birthday_passed = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    age = on.year - date_of_birth.year - (0 if birthday_passed else 1)
    return age < ADULTHOOD_YEARS


def triage(indicators: Iterable[Indicator], subject_is_child: bool) -> RiskLevel:
    found = frozenset(indicators)
    if subject_is_child or found & _CRITICAL:
        return RiskLevel.CRITICAL
    if Indicator.CUCKOOING in found and Indicator.WEAPONS in found:
        return RiskLevel.CRITICAL
    if found & _HIGH:
        return RiskLevel.HIGH
    if found & _MEDIUM:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW
