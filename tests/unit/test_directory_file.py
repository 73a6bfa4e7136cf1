"""The directory file: the demo parses, and every problem is refused naming its own line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from referral_schemas import DirectoryPublished, ServiceKind

from services.hub.directory_file import DirectoryFileError, compare, parse_directory

pytestmark = pytest.mark.unit
DEMO = Path(__file__).resolve().parents[2] / "infra" / "directory" / "cumbria.yaml"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

GOOD = """\
areas:
  - code: barrow
    name: Barrow-in-Furness
    force: cumbria
    postcode_districts: [LA13, LA14]
  - code: kendal
    name: Kendal
    force: cumbria
    postcode_districts: [LA8, LA9]
agencies:
  - code: twc-barrow
    name: The Well Communities — Barrow team
    areas: [barrow]
    services: [vulnerability_visit]
    capacity: 40
    acceptance_deadline: PT48H
"""


def parse(text: str, version: int = 1) -> DirectoryPublished:
    return parse_directory(
        text, filename="dir.yaml", version=version, published_at=NOW, published_by="user:test"
    )


def problems(text: str) -> list[str]:
    with pytest.raises(DirectoryFileError) as refused:
        parse(text)
    return refused.value.problems


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """1-based line of the nth line containing fragment."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return hits[nth - 1]


def test_the_demo_directory_parses() -> None:
    directory = parse(DEMO.read_text(encoding="utf-8"), version=7)
    assert directory.version == 7
    assert directory.published_by == "user:test"
    assert [a.code for a in directory.areas] == ["barrow", "kendal", "carlisle"]
    assert directory.areas[2].postcode_districts == ["CA1", "CA2", "CA3"]
    assert {a.force for a in directory.areas} == {"cumbria"}
    barrow = directory.area_for_district("LA14")
    assert barrow is not None
    assert barrow.code == "barrow"
    south = directory.agency("cumbria-recovery-south")
    assert south is not None
    assert south.areas == ["barrow", "kendal"]
    carlisle_team = directory.agency("twc-carlisle")
    assert carlisle_team is not None
    assert carlisle_team.name == "The Well Communities — Carlisle team"
    assert ServiceKind.VULNERABILITY_VISIT in carlisle_team.services
    assert carlisle_team.acceptance_deadline == timedelta(hours=48)


@pytest.mark.parametrize(
    ("old", "new", "marked", "reason"),
    [
        ("    capacity: 40\n", "    capacity: 40\n    colour: red\n", "colour", "unknown key"),
        ("    force: cumbria\n", "", "- code: barrow", "missing field 'force'"),
        ("PT48H", "48 hours", "acceptance_deadline", "Duration should be ISO 8601"),
        ("PT48H", "172800", "acceptance_deadline", "ISO 8601 duration such as PT48H"),
        ("PT48H", "P31D", "acceptance_deadline", "less than or equal to 30 days"),
        ("code: kendal", "code: barrow", "code: barrow#2", "duplicate area code 'barrow'"),
        ("[LA8, LA9]", "[LA8, LA14]", "[LA8, LA14]", "'LA14' is already in area 'barrow'"),
        ("areas: [barrow]", "areas: [barow]", "areas: [barow]", "unknown area 'barow'"),
        ("capacity: 40", "capacity: -1", "capacity", "capacity: Input should be greater"),
        ("    name: Kendal\n", "    name: Kendal\n    name: Kendal\n", "name: Kendal#2", "dup"),
        ("[LA8, LA9]", "[LA8, la9]", "la9", "postcode_districts[1]"),
        ("services: [vulnerability_visit]", "services: [cooking]", "cooking", "services[0]"),
    ],
)
def test_each_problem_names_its_line(old: str, new: str, marked: str, reason: str) -> None:
    text = GOOD.replace(old, new, 1)
    fragment, _, nth = marked.partition("#")
    expected_line = line_of(text, fragment, int(nth or 1))
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"dir.yaml:{expected_line}: "), found
    assert reason in found[0]


def test_a_duplicate_agency_code_names_the_second_one() -> None:
    agency = GOOD[GOOD.index("  - code: twc-barrow") :]
    text = GOOD + agency
    found = problems(text)
    assert found == [
        f"dir.yaml:{line_of(text, 'twc-barrow', 2)}: duplicate agency code 'twc-barrow' "
        f"(first at {line_of(text, 'twc-barrow')})"
    ]


def test_every_problem_is_reported_in_line_order() -> None:
    text = (
        GOOD.replace("PT48H", "two days")
        .replace("    force: cumbria\n", "    force: cumbria\n    colour: red\n", 1)
        .replace("[LA8, LA9]", "[LA8, LA13]")
    )
    found = problems(text)
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)
    assert lines == [
        line_of(text, "colour"),
        line_of(text, "LA13", 2),
        line_of(text, "acceptance_deadline"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "the file is empty"),
        ("- barrow\n- kendal\n", 1, "should be a mapping"),
        ("areas:\n  - code: [barrow\n", 3, "not valid YAML"),
        (GOOD + "version: 9\n", 17, "'version' is set by `hub directory load`"),
        ("areas:\n\t- code: barrow\n", 2, "not valid YAML"),
        ("agencies: []\n", 1, "missing field 'areas'"),
    ],
)
def test_a_file_that_is_not_a_directory_is_refused(text: str, line: int, reason: str) -> None:
    found = problems(text)
    assert any(p.startswith(f"dir.yaml:{line}: ") and reason in p for p in found), found


def test_an_identical_or_reordered_file_changes_nothing() -> None:
    before = parse(GOOD)
    assert compare(before, parse(GOOD, version=2)) == []
    reordered = GOOD.replace("[LA13, LA14]", "[LA14, LA13]")
    assert compare(before, parse(reordered, version=2)) == []


def test_changes_name_what_was_added_removed_and_changed() -> None:
    before = parse(GOOD)
    after_text = (
        GOOD.replace("capacity: 40", "capacity: 45")
        .replace("[LA13, LA14]", "[LA13, LA14, LA12]")
        .replace("areas: [barrow]", "areas: [barrow, kendal]")
        .replace("  - code: kendal", "  - code: carlisle")
        .replace("name: Kendal", "name: Carlisle")
        .replace("[LA8, LA9]", "[CA1]")
        .replace("areas: [barrow, kendal]", "areas: [barrow, carlisle]")
    )
    changes = {(c.kind, c.code, c.what): c.details for c in compare(before, parse(after_text))}
    assert changes == {
        ("area", "carlisle", "added"): (),
        ("area", "kendal", "removed"): (),
        ("area", "barrow", "changed"): ("postcode_districts +LA12",),
        ("agency", "twc-barrow", "changed"): ("areas +carlisle", "capacity 40 -> 45"),
    }
    first = compare(None, before)
    assert {(c.kind, c.code, c.what) for c in first} == {
        ("area", "barrow", "added"),
        ("area", "kendal", "added"),
        ("agency", "twc-barrow", "added"),
    }
