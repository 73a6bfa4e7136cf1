"""DirectoryPublished: consistency rules, helpers and ISO 8601 acceptance deadlines."""

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from referral_schemas import (
    Agency,
    DirectoryPublished,
    EventRejected,
    RejectionReason,
    ServiceKind,
    iso_duration,
    load_sample,
    parse_event,
)

pytestmark = pytest.mark.contract


@pytest.fixture
def directory() -> DirectoryPublished:
    data = parse_event(load_sample("DirectoryPublished.v1")).data
    assert isinstance(data, DirectoryPublished)
    return data


@pytest.fixture
def event() -> dict[str, Any]:
    """The DirectoryPublished sample as a dict, safe to mutate."""
    sample: dict[str, Any] = json.loads(load_sample("DirectoryPublished.v1"))
    return sample


def _rejection(event: dict[str, Any]) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(json.dumps(event).encode("utf-8"))
    return caught.value


def _error_type(fields: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        DirectoryPublished.model_validate(fields)
    return caught.value.errors()[0]["type"]


def test_the_sample_is_the_cumbria_directory(directory: DirectoryPublished) -> None:
    assert [area.code for area in directory.areas] == ["barrow", "kendal", "carlisle"]
    assert {agency.code for agency in directory.agencies} >= {
        "twc-barrow",
        "twc-carlisle",
        "cumbria-recovery-kendal",
    }
    assert directory.kafka_key() == "directory"


@pytest.mark.parametrize(
    ("district", "area"),
    [
        ("LA13", "barrow"),
        ("LA14", "barrow"),
        ("LA8", "kendal"),
        ("LA9", "kendal"),
        ("CA1", "carlisle"),
        ("CA2", "carlisle"),
        ("CA3", "carlisle"),
        ("LA1", None),
        ("CA28", None),
        ("la14", None),
        ("LA14 9ZZ", None),
    ],
)
def test_area_for_district(directory: DirectoryPublished, district: str, area: str | None) -> None:
    found = directory.area_for_district(district)
    assert (found.code if found else None) == area


def test_agency_by_code(directory: DirectoryPublished) -> None:
    agency = directory.agency("twc-barrow")
    assert agency is not None
    assert agency.areas == ["barrow", "kendal"]
    assert agency.acceptance_deadline == timedelta(hours=48)
    assert ServiceKind.VULNERABILITY_VISIT in agency.services
    assert directory.agency("twc-whitehaven") is None


def _duplicate_area(fields: dict[str, Any]) -> None:
    fields["areas"].append({**fields["areas"][0], "postcode_districts": ["LA15"]})


def _duplicate_agency(fields: dict[str, Any]) -> None:
    fields["agencies"].append({**fields["agencies"][1], "areas": ["kendal"]})


def _district_in_two_areas(fields: dict[str, Any]) -> None:
    fields["areas"][1]["postcode_districts"].append("LA14")


def _unknown_area(fields: dict[str, Any]) -> None:
    fields["agencies"][2]["areas"].append("whitehaven")


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (_duplicate_area, "duplicate_code"),
        (_duplicate_agency, "duplicate_code"),
        (_district_in_two_areas, "district_in_two_areas"),
        (_unknown_area, "unknown_area"),
    ],
    ids=["duplicate-area", "duplicate-agency", "district-in-two-areas", "unknown-area"],
)
def test_directory_must_be_consistent(event: dict[str, Any], mutate: Any, error: str) -> None:
    fields = event["data"]
    parse_event(json.dumps(event).encode())  # the sample itself is consistent
    mutate(fields)
    assert _error_type(fields) == error
    rejection = _rejection(event)
    assert rejection.reason is RejectionReason.INVALID_VALUE
    assert rejection.detail.startswith("data: ")


def test_unknown_area_names_the_agency_by_position_only(event: dict[str, Any]) -> None:
    _unknown_area(event["data"])
    rejection = _rejection(event)
    assert "agencies[2]" in rejection.detail
    assert "whitehaven" not in rejection.detail


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("areas",), []),
        (("areas", 0, "postcode_districts"), []),
        (("areas", 0, "postcode_districts"), ["LA14", "LA14"]),
        (("areas", 0, "postcode_districts"), ["la14"]),
        (("areas", 0, "postcode_districts"), ["LA14 9ZZ"]),
        (("areas", 0, "code"), "Barrow"),
        (("agencies", 0, "areas"), []),
        (("agencies", 0, "areas"), ["barrow", "barrow"]),
        (("agencies", 0, "services"), []),
        (("agencies", 0, "services"), ["vulnerability_visit", "vulnerability_visit"]),
        (("agencies", 0, "capacity"), -1),
        (("version",), 0),
    ],
)
def test_field_rules(event: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    node: Any = event["data"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert _rejection(event).reason is RejectionReason.INVALID_VALUE


def test_an_empty_agency_list_is_allowed(event: dict[str, Any]) -> None:
    event["data"]["agencies"] = []
    data = parse_event(json.dumps(event).encode()).data
    assert isinstance(data, DirectoryPublished)
    assert data.agency("twc-barrow") is None


@pytest.mark.parametrize(
    ("deadline", "stored"),
    [
        ("PT48H", timedelta(hours=48)),
        ("P2D", timedelta(hours=48)),
        ("PT36H30M", timedelta(hours=36, minutes=30)),
        ("PT1S", timedelta(seconds=1)),
        ("PT720H", timedelta(days=30)),
        ("P30D", timedelta(days=30)),
    ],
)
def test_acceptance_deadline_accepts_iso_8601(
    event: dict[str, Any], deadline: str, stored: timedelta
) -> None:
    event["data"]["agencies"][0]["acceptance_deadline"] = deadline
    data = parse_event(json.dumps(event).encode()).data
    assert isinstance(data, DirectoryPublished)
    assert data.agencies[0].acceptance_deadline == stored


@pytest.mark.parametrize(
    ("deadline", "reason"),
    [
        ("PT0S", RejectionReason.INVALID_VALUE),
        ("P0D", RejectionReason.INVALID_VALUE),
        ("-PT1H", RejectionReason.INVALID_VALUE),
        ("PT720H1S", RejectionReason.INVALID_VALUE),
        ("P31D", RejectionReason.INVALID_VALUE),
        ("P1M", RejectionReason.INVALID_VALUE),
        ("P1Y", RejectionReason.INVALID_VALUE),
        ("P1W", RejectionReason.INVALID_VALUE),
        ("48h", RejectionReason.INVALID_VALUE),
        ("PT", RejectionReason.INVALID_VALUE),
        # Not a duration at all: the registry files time_delta_type under bad_date.
        (172800, RejectionReason.BAD_DATE),
        (None, RejectionReason.BAD_DATE),
    ],
)
def test_acceptance_deadline_refuses_zero_negative_long_or_nominal(
    event: dict[str, Any], deadline: object, reason: RejectionReason
) -> None:
    event["data"]["agencies"][0]["acceptance_deadline"] = deadline
    rejection = _rejection(event)
    assert rejection.reason is reason
    assert rejection.detail.startswith("data.agencies[0].acceptance_deadline: ")


@pytest.mark.parametrize("deadline", [timedelta(0), timedelta(hours=-1), timedelta(days=31)])
def test_agency_refuses_a_bad_deadline_from_python(deadline: timedelta) -> None:
    with pytest.raises(ValidationError) as caught:
        Agency(
            code="twc-barrow",
            name="The Well Communities (Barrow team)",
            areas=["barrow"],
            services=[ServiceKind.VULNERABILITY_VISIT],
            capacity=10,
            acceptance_deadline=deadline,
        )
    assert caught.value.errors()[0]["type"] in {"greater_than", "less_than_equal"}


def test_deadline_is_written_in_hours_and_round_trips(event: dict[str, Any]) -> None:
    event["data"]["agencies"][0]["acceptance_deadline"] = "P1DT12H"
    data = parse_event(json.dumps(event).encode()).data
    assert isinstance(data, DirectoryPublished)
    agency = data.agencies[0]
    assert agency.model_dump(mode="json")["acceptance_deadline"] == "PT36H"
    assert agency.model_dump()["acceptance_deadline"] == timedelta(hours=36)
    assert Agency.model_validate_json(agency.model_dump_json(), strict=True) == agency
    assert '"acceptance_deadline":"PT36H"' in agency.model_dump_json(serialize_as_any=True)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=48), "PT48H"),
        (timedelta(days=30), "PT720H"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(minutes=5, seconds=7), "PT5M7S"),
        (timedelta(seconds=1.5), "PT1.5S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (timedelta(0), "PT0S"),
        (timedelta(minutes=-90), "-PT1H30M"),
    ],
)
def test_iso_duration(duration: timedelta, text: str) -> None:
    assert iso_duration(duration) == text


def test_agency_is_active_unless_said_otherwise(directory: DirectoryPublished) -> None:
    fields = directory.agencies[0].model_dump()
    del fields["active"]
    assert Agency.model_validate(fields).active is True
    assert [agency.active for agency in directory.agencies].count(False) == 1
