"""The lifecycle table a reader checks (docs/lifecycle-contract.md) is the one the code runs."""

import re
from pathlib import Path

import pytest
from referral_schemas.lifecycle_rules import OPEN, RULES

pytestmark = pytest.mark.contract

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "lifecycle-contract.md"
ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$")


def _documented_rows() -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in CONTRACT.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match[1]] = tuple(cell.strip() for cell in match.groups()[1:])
    return rows


def _expected(event_type: str) -> tuple[str, ...]:
    rule = RULES[event_type]
    valid = (
        "any open" if rule.valid_in == OPEN else ", ".join(sorted(s.value for s in rule.valid_in))
    )
    flags = [
        text
        for on, text in (
            (rule.same_agency, "same agency"),
            (rule.not_while_held, "not while held"),
            (rule.proposal, "proposal"),
        )
        if on
    ]
    leads_to = rule.leads_to.value if rule.leads_to else "(unchanged)"
    return (rule.producer.value, valid, leads_to, ", ".join(flags) or "-")


def test_every_rule_is_documented_exactly_as_the_code_applies_it() -> None:
    documented = _documented_rows()
    assert set(documented) == set(RULES)
    for event_type in RULES:
        assert documented[event_type] == _expected(event_type), event_type
