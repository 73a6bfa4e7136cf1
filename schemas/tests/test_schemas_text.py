"""The annotated string types: normalisation, limits, control characters."""

import unicodedata

import pytest
from pydantic import TypeAdapter, ValidationError
from referral_schemas import (
    ForceCode,
    FreeText,
    IntelligenceRef,
    PhoneNumber,
    Postcode,
    ShortText,
    postcode_district,
)

pytestmark = pytest.mark.contract

SHORT = TypeAdapter(ShortText)
FREE = TypeAdapter(FreeText)
POSTCODE = TypeAdapter(Postcode)
PHONE = TypeAdapter(PhoneNumber)
FORCE = TypeAdapter(ForceCode)
REF = TypeAdapter(IntelligenceRef)

CONTROL_CHARACTERS = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"]


def _error_type(adapter: TypeAdapter[str], value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    return caught.value.errors()[0]["type"]


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("la14 1ab", "LA14 1AB"),
        ("LA141AB", "LA14 1AB"),
        ("  La14   1aB ", "LA14 1AB"),
        ("ca3 8qg", "CA3 8QG"),
        ("LA9 4DQ", "LA9 4DQ"),
        ("sw1a2aa", "SW1A 2AA"),
        ("m11ae", "M1 1AE"),
        ("gir 0aa", "GIR 0AA"),
    ],
)
def test_postcode_is_normalised_to_upper_case_with_one_space(raw: str, normalised: str) -> None:
    assert POSTCODE.validate_python(raw) == normalised


@pytest.mark.parametrize(
    ("postcode", "district"),
    [("LA14 1AB", "LA14"), ("la14 1ab", "LA14"), ("CA3 8QG", "CA3"), ("SW1A 2AA", "SW1A")],
)
def test_postcode_district_is_the_outward_code(postcode: str, district: str) -> None:
    assert postcode_district(postcode) == district


@pytest.mark.parametrize("raw", ["", "LA14", "LA14 1CB", "14LA 1AB", "LA14 1AB X", "L" * 200])
def test_invalid_postcodes_are_rejected(raw: str) -> None:
    assert _error_type(POSTCODE, raw) == "postcode"
    with pytest.raises(ValueError, match="not a valid UK postcode"):
        postcode_district(raw)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("0044 1229 123456", "+441229123456"),
        ("01229123456", "+441229123456"),
        ("016977 3456", "+44169773456"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, normalised: str) -> None:
    assert PHONE.validate_python(raw) == normalised


@pytest.mark.parametrize(
    "raw", ["", "+1 212 555 0100", "+44 07700 900123", "07700-900123", "0770 090", "999", "ring me"]
)
def test_non_uk_or_malformed_phone_numbers_are_rejected(raw: str) -> None:
    assert _error_type(PHONE, raw) == "phone_number"


def test_short_text_is_stripped() -> None:
    assert SHORT.validate_python("  Casey Marsh  ") == "Casey Marsh"


@pytest.mark.parametrize("length", [1, 200])
def test_short_text_accepts_1_to_200_characters(length: int) -> None:
    assert SHORT.validate_python("x" * length) == "x" * length


def test_short_text_rejects_201_characters() -> None:
    assert _error_type(SHORT, "x" * 201) == "string_too_long"


@pytest.mark.parametrize("blank", ["", "   "])
def test_short_and_free_text_reject_blank(blank: str) -> None:
    assert _error_type(SHORT, blank) == "string_too_short"
    assert _error_type(FREE, blank) == "string_too_short"


def test_free_text_length_limit() -> None:
    assert len(FREE.validate_python("x" * 10_000)) == 10_000
    assert _error_type(FREE, "x" * 10_001) == "string_too_long"


def test_control_characters_are_exactly_c0_del_and_c1() -> None:
    assert len(CONTROL_CHARACTERS) == 65


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_short_text_rejects_every_control_character(char: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SHORT.validate_python(f"ab{char}cd")
    error = caught.value.errors()[0]
    assert error["type"] == "control_character"
    assert error["msg"] == "text contains a control character at position 2"


@pytest.mark.parametrize("char", ["\n", "\r", "\t"], ids=["LF", "CR", "TAB"])
def test_short_text_rejects_layout_characters_even_at_the_ends(char: str) -> None:
    assert _error_type(SHORT, f"Casey{char}") == "control_character"


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_free_text_allows_only_layout_control_characters(char: str) -> None:
    text = f"line one{char}line two"
    if char in "\n\r\t":
        assert FREE.validate_python(text) == text
    else:
        assert _error_type(FREE, text) == "control_character"


@pytest.mark.parametrize("text", ["Zoë Ní Bhriain", "O'Neill-Smith", "名前", "a\u200bb"])
def test_short_text_accepts_non_control_unicode(text: str) -> None:
    assert SHORT.validate_python(text) == text


@pytest.mark.parametrize(
    ("code", "ok"),
    [("cumbria", True), ("west-yorkshire", True), ("met2", True), ("c", False), ("Cumbria", False)],
)
def test_force_code_pattern(code: str, ok: bool) -> None:
    if ok:
        assert FORCE.validate_python(code) == code
    else:
        assert _error_type(FORCE, code) == "string_pattern_mismatch"


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        ("CUM/2025/004217", True),
        ("int_1-b", True),
        ("ab", False),
        ("/CUM/1", False),
        ("CUM 2025", False),
        ("x" * 65, False),
    ],
)
def test_intelligence_ref_pattern(ref: str, ok: bool) -> None:
    if ok:
        assert REF.validate_python(ref) == ref
    else:
        assert _error_type(REF, ref) == "string_pattern_mismatch"
