"""Annotated string types shared by every event.

Every validator here raises errors whose message never repeats the input: the input is
usually personal data and rejection details end up in logs and dead-letter headers.
"""

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

# Unicode category Cc is exactly C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LAYOUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

SHORT_TEXT_MAX = 200
FREE_TEXT_MAX = 10_000

# Outward code (area + district, optionally a sub-district letter) then inward code.
# Inward letters never use C, I, K, M, O or V. GIR 0AA is the one historic exception.
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})|(GIR)(0AA)")
_POSTCODE_MAX_INPUT = 16


def _reject_control_characters(value: str, pattern: re.Pattern[str]) -> None:
    found = pattern.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "text contains a control character at position {position}",
            {"position": found.start()},
        )


def _bounded_text(max_length: int, pattern: re.Pattern[str]) -> Callable[[str], str]:
    """A validator: no forbidden control characters, stripped, 1..max_length characters."""

    def validate(value: str) -> str:
        _reject_control_characters(value, pattern)
        value = value.strip()
        if not value:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} character",
                {"min_length": 1},
            )
        if len(value) > max_length:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": max_length},
            )
        return value

    return validate


ShortText = Annotated[
    str,
    AfterValidator(_bounded_text(SHORT_TEXT_MAX, _ANY_CONTROL)),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": SHORT_TEXT_MAX}),
]
"""One line of text: surrounding whitespace stripped, 1..200 characters, no control character."""

FreeText = Annotated[
    str,
    AfterValidator(_bounded_text(FREE_TEXT_MAX, _CONTROL_EXCEPT_LAYOUT)),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": FREE_TEXT_MAX}),
]
"""Multi-line text: stripped, 1..10000 characters; tab, CR and LF allowed, no other control."""


def _split_postcode(value: str) -> tuple[str, str] | None:
    if len(value) > _POSTCODE_MAX_INPUT:
        return None
    match = _POSTCODE.fullmatch("".join(value.split()).upper())
    if match is None:
        return None
    outward = match.group(1) or match.group(3)
    inward = match.group(2) or match.group(4)
    return outward, inward


def _validate_postcode(value: str) -> str:
    _reject_control_characters(value, _ANY_CONTROL)
    parts = _split_postcode(value)
    if parts is None:
        raise PydanticCustomError("postcode", "Value should be a valid UK postcode")
    return " ".join(parts)


Postcode = Annotated[
    str,
    AfterValidator(_validate_postcode),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": _POSTCODE_MAX_INPUT,
            "description": "UK postcode; any case and spacing accepted, normalised to upper "
            "case with one space before the inward code, e.g. 'LA14 1AB'.",
            "examples": ["LA14 1AB"],
        }
    ),
]
"""A UK postcode, normalised: ``"la14 1ab"`` and ``"LA141AB"`` both become ``"LA14 1AB"``."""


def postcode_district(postcode: str) -> str:
    """The postcode district (outward code): ``"LA14 1AB"`` -> ``"LA14"``.

    Accepts any spelling a :data:`Postcode` accepts; raises ``ValueError`` otherwise
    (without repeating the input).
    """
    parts = _split_postcode(postcode)
    if parts is None:
        raise ValueError("not a valid UK postcode")
    return parts[0]


ForceCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
"""A police force's short code, e.g. ``"cumbria"``."""

IntelligenceRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9/_-]{2,63}$")]
"""A force's own reference for one piece of intelligence, e.g. ``"CUM/2025/004217"``."""

AgencyCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
"""A support agency's (or team's) short code in the directory, e.g. ``"twc-barrow"``."""

AreaCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
"""A routing area's short code in the directory, e.g. ``"barrow"``."""

WorkerId = ShortText
"""A person's user id at the identity provider, e.g. ``"twc-0487"``; never a name."""

PostcodeDistrict = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")]
"""A postcode district (outward code) in upper case, e.g. ``"LA14"``."""

# National significant number: 9 or 10 digits, never starting with 0.
_UK_NATIONAL_NUMBER = re.compile(r"[1-9][0-9]{8,9}")
_PHONE_MAX_INPUT = 24


def _validate_phone(value: str) -> str:
    _reject_control_characters(value, _ANY_CONTROL)
    compact = value.replace(" ", "")
    national: str | None = None
    if len(value) <= _PHONE_MAX_INPUT:
        if compact.startswith("+44"):
            national = compact[3:]
        elif compact.startswith("0044"):
            national = compact[4:]
        elif compact.startswith("0"):
            national = compact[1:]
    if national is None or _UK_NATIONAL_NUMBER.fullmatch(national) is None:
        raise PydanticCustomError("phone_number", "Value should be a valid UK phone number")
    return "+44" + national


PhoneNumber = Annotated[
    str,
    AfterValidator(_validate_phone),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": _PHONE_MAX_INPUT,
            "description": "UK phone number of digits, spaces and a leading +; national "
            "('01229 123456') or international ('+44 1229 123456') form, normalised to "
            "E.164, e.g. '+441229123456'.",
            "examples": ["+441229123456"],
        }
    ),
]
"""A UK phone number, normalised to E.164: ``"07700 900123"`` -> ``"+447700900123"``."""
