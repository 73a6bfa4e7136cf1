"""The person's details as they travel: sealed under a data key of their referral.

``ReferralOpened`` and ``ReferralAmended`` carry the person to visit and the address only as
``SealedPersonal``: AES-256-GCM ciphertext of a ``PersonalDetails`` document under a data
key of that referral (``key_id``), with the referral id and the key id as associated data,
so a sealed value cannot be moved to another referral. The data keys are kept apart from the
log and can be destroyed (erasure, docs/privacy.md); the log, its hashes and every replay
work on the ciphertext, which stays valid and unreadable. This package only describes the
shapes: sealing and unsealing are ``services.runtime.sealing``'s.
"""

import base64
import binascii
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from referral_schemas.intelligence_v1 import Address, BirthDate
from referral_schemas.text import PhoneNumber, ShortText

SEALING_ALGORITHM = "AES-256-GCM"
NONCE_BYTES = 12
MAX_SEALED_BYTES = 8 * 1024


def _base64_of(size: int | None, limit: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError("not_base64", "should be standard base64") from None
        if (size is not None and len(raw) != size) or not 0 < len(raw) <= limit:
            raise PydanticCustomError("wrong_length", "has the wrong length once decoded")
        return value

    return AfterValidator(check)


Nonce = Annotated[
    str,
    _base64_of(NONCE_BYTES, NONCE_BYTES),
    WithJsonSchema({"type": "string", "contentEncoding": "base64", "maxLength": 16}),
]
Ciphertext = Annotated[
    str,
    _base64_of(None, MAX_SEALED_BYTES),
    WithJsonSchema({"type": "string", "contentEncoding": "base64", "maxLength": 10_924}),
]


class SealedPersonal(BaseModel):
    """The person to visit and the address, encrypted; opaque to everyone without the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithm: str = Field(
        default=SEALING_ALGORITHM, pattern=r"^AES-256-GCM$", description="How it is sealed."
    )
    key_id: UUID = Field(description="The referral's data key that sealed it.")
    nonce: Nonce = Field(description="The 96-bit GCM nonce, base64.")
    ciphertext: Ciphertext = Field(
        description="The PersonalDetails JSON, encrypted, with its 16-byte tag; base64."
    )


class ReferralSubject(BaseModel):
    """The person to visit: identity and contact only (no aliases)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: ShortText = Field(description="Given name(s).")
    family_name: ShortText = Field(description="Family name.")
    date_of_birth: BirthDate | None = Field(default=None, description="Date of birth if known.")
    phone: PhoneNumber | None = Field(default=None, description="Contact phone number if known.")


class PersonalDetails(BaseModel):
    """What ``SealedPersonal`` holds: who to visit and where (the information-sharing
    agreement's fields: no aliases, no narrative)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: ReferralSubject = Field(description="The person to visit.")
    address: Address = Field(description="Where to visit.")
